"""What bench/run, bench/profile and bench/soak share: a server process started until it listens,
its RSS, h2load's gRPC load of GetUser, and the Release build of the benchmark's binaries."""
import os
import re
import selectors
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, **kwargs)


def wait_listening(proc, timeout):
    """Reads `proc`'s stdout until its `listening on HOST:PORT` line; the address, or None when
    the process ends or `timeout` seconds pass first."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not selector.select(left):
            return None
        line = proc.stdout.readline()
        if not line:
            return None
        match = re.match(r"listening on (\S+)", line)
        if match:
            return match.group(1)


def rss_mb(pid):
    """VmRSS of process `pid` in MB; None when it cannot be read (the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


class Server:
    """A server process started until it prints `listening on HOST:PORT`."""

    def __init__(self, name, command, logdir):
        self.name = name
        self.command = command
        self.log_path = os.path.join(logdir, re.sub(r"\W+", "_", name) + ".log")
        self.proc = None
        self.address = None
        self.start_ms = None

    def start(self, timeout=120.0):
        begin = time.perf_counter()
        with open(self.log_path, "a") as stderr:
            self.proc = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=stderr,
                                         cwd=ROOT, text=True)
        self.address = wait_listening(self.proc, timeout)
        if self.address is None:
            try:
                exited = self.proc.wait(1) is not None  # stdout ended: it is exiting
            except subprocess.TimeoutExpired:
                exited = False
            self.stop()
            if exited:
                raise RuntimeError(f"{self.name}: exited with {self.proc.returncode} before "
                                   f"listening (log: {self.log_path})")
            raise RuntimeError(f"{self.name}: no `listening on` line within {timeout:.0f} s "
                               f"(log: {self.log_path})")
        self.start_ms = (time.perf_counter() - begin) * 1000.0
        return self

    def rss_mb(self):
        return rss_mb(self.proc.pid)

    def cpu_seconds(self):
        """User + system CPU time the server has used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def h2load(server, body, requests, clients, streams, logdir, tag):
    """Loads GetUser; returns requests/s, p50 and p99 latency in ms, and the server's CPU time
    per request in microseconds (steadier than rates on a shared machine)."""
    address = server.address
    timings = os.path.join(logdir, f"h2load_{tag}.tsv")
    cpu_before = server.cpu_seconds()
    out = run(["h2load", "-n", str(requests), "-c", str(clients), "-m", str(streams), "-t", "1",
               "-d", body, "--log-file", timings,
               "-H", "content-type: application/grpc", "-H", "te: trailers",
               f"http://{address}/user.UserService/GetUser"], capture_output=True).stdout
    done = re.search(r"requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded", out)
    rate = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    cpu_us = (server.cpu_seconds() - cpu_before) * 1e6 / requests
    if not done or not rate or done.group(1) != done.group(2):
        raise RuntimeError(f"h2load against {address}: not every request succeeded:\n{out}")
    with open(timings) as f:
        micros = sorted(int(line.split("\t")[2]) for line in f if line.strip())
    pick = lambda q: micros[min(len(micros) - 1, int(q * len(micros)))] / 1000.0  # noqa: E731
    return dict(rps=float(rate.group(1)), p50=pick(0.50), p99=pick(0.99), cpu=cpu_us)


def median_by(results, key):
    """The result whose `key` is the median of several rounds (the lower middle one)."""
    ordered = sorted(results, key=lambda r: r[key])
    return ordered[(len(ordered) - 1) // 2]


def build(build_dir, targets=("understudy", "bench_limit_server", "bench_client"),
          cmake_args="-DUNDERSTUDY_BUILD_TESTS=OFF"):
    """The benchmark's binaries in Release, in `build_dir` (scripts/build)."""
    env = dict(os.environ, BUILD_DIR=build_dir, BUILD_TYPE="Release", CMAKE_ARGS=cmake_args)
    log(f"building Release in {build_dir} ...")
    run([os.path.join(ROOT, "scripts", "build"), *targets], env=env, stdout=subprocess.DEVNULL)
