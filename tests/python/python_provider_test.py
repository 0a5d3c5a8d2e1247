#!/usr/bin/python3
"""`understudy verify` against a server it did not write: a UserService in Python grpcio.

Run as:
    /usr/bin/python3 tests/python/python_provider_test.py --understudy build/understudy --repo .

The provider keeps tests/data/python_provider/contract.json (every RPC kind, status details,
headers, trailers, templates, matchers with examples); verify must pass it. Then the provider is
broken one way at a time and verify must fail exactly that interaction, at the right pointer.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from concurrent import futures

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import user_client_test  # noqa: E402  (reuses its stub generation)

ARGS = None
USERS = {"42": ("Ada Lovelace", 1), "21": ("Katherine Johnson", 1), "7": ("Grace Hopper", 2)}


class Provider:
    """A small in-memory UserService; `bug` names one deliberate fault."""

    def __init__(self, pb2, status_pb2, details_pb2, bug=None):
        self.pb2, self.status_pb2, self.details_pb2, self.bug = pb2, status_pb2, details_pb2, bug

    def _authorized(self, context):
        token = dict(context.invocation_metadata()).get("authorization", "")
        if token.startswith("Bearer ") and len(token) > 7:
            return True
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid authorization header")
        return False

    def _user(self, user_id):
        name, status = USERS[user_id]
        if self.bug == "wrong-name" and user_id == "42":
            name = "Ada Byron"
        return self.pb2.User(id=user_id, name=name, status=status)

    def GetUser(self, request, context):
        self._authorized(context)
        if request.user_id not in USERS:
            info = self.details_pb2.ErrorInfo(reason="USER_NOT_FOUND",
                                              metadata={"user_id": request.user_id})
            status = self.status_pb2.Status(code=grpc.StatusCode.NOT_FOUND.value[0],
                                            message="User %s not found" % request.user_id)
            status.details.add().Pack(info)
            context.abort_with_status(_RichStatus(grpc.StatusCode.NOT_FOUND, status.message,
                                                  status.SerializeToString()))
        if self.bug != "no-header":
            context.send_initial_metadata((("x-served-by", "python-grpcio"),))
        context.set_trailing_metadata((("x-backend", "memory"),))
        user = self._user(request.user_id)
        order = user.orders.add(id="ord-1", total=59.97)
        order.items.add(product_id="sku-1", name="manual", price=19.99, quantity=3)
        return self.pb2.GetUserResponse(user=user)

    def StreamUsers(self, request, context):
        self._authorized(context)
        ids = ["42", "21"] if self.bug != "swapped-stream" else ["21", "42"]
        for user_id in ids:
            if USERS[user_id][1] == request.status:
                yield self.pb2.UserResponse(user=self._user(user_id))

    def CreateUserStream(self, request_iterator, context):
        self._authorized(context)
        ids, last = [], None
        for request in request_iterator:
            ids.append(str(100 + len(ids)))
            last = self.pb2.User(id=ids[-1], name=request.name, email=request.email)
        if self.bug == "first-name":
            last.name = "A"
        return self.pb2.CreateUserResponse(user=last, created_count=len(ids), user_ids=ids)

    def BidirectionalStream(self, request_iterator, context):
        self._authorized(context)
        for request in request_iterator:
            if request.action == "ping":
                yield self.pb2.BidirectionalResponse(
                    request_id=request.request_id,
                    message="pong" if self.bug != "bidi-reply" else "ping")
            else:
                yield self.pb2.BidirectionalResponse(request_id=request.request_id,
                                                     user=self._user(request.user_id),
                                                     message="user found")


class _RichStatus(grpc.Status):
    def __init__(self, code, details, status_bytes):
        self.code = code
        self.details = details
        self.trailing_metadata = (("grpc-status-details-bin", status_bytes),)


class VerifyPythonProviderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp_dir = tempfile.mkdtemp(prefix="understudy-pyprovider-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp_dir, ignore_errors=True)
        user_client_test._generate_stubs(ARGS.repo, cls.tmp_dir)
        user_client_test._import_stubs(cls.tmp_dir)

    def verify(self, bug=None):
        """Serves the provider (with `bug`) and returns (exit code, JSON report, stdout)."""
        t = user_client_test
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        # The generated base answers UNIMPLEMENTED for the methods Provider leaves out.
        servicer = type("Servicer", (Provider, t.user_pb2_grpc.UserServiceServicer), {})
        t.user_pb2_grpc.add_UserServiceServicer_to_server(
            servicer(t.user_pb2, t.status_pb2, t.error_details_pb2, bug), server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        report = os.path.join(self.tmp_dir, "report.json")
        try:
            result = subprocess.run(
                [ARGS.understudy, "verify", "--proto", os.path.join(ARGS.repo, "proto", "user.proto"),
                 "--target", "127.0.0.1:%d" % port, "--header", "authorization: Bearer py",
                 "--json", report, "--color", "never",
                 os.path.join(ARGS.repo, "tests", "data", "python_provider", "contract.json")],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        finally:
            server.stop(None)
        self.assertIn(result.returncode, (0, 1), result.stderr)
        with open(report) as f:
            return result.returncode, json.load(f), result.stdout

    def failures(self, report):
        return {i["name"]: [d["pointer"] for d in i["differences"]]
                for i in report["interactions"] if i["result"] == "FAIL"}

    def test_a_provider_that_keeps_the_contract_passes(self):
        code, report, stdout = self.verify()
        self.assertEqual(code, 0, stdout)
        self.assertEqual(report["passed"], 6)
        self.assertTrue(stdout.rstrip().endswith("6 passed, 0 failed"), stdout)

    def test_each_fault_fails_exactly_its_interaction(self):
        cases = {
            # The conversation lists only the user's id: a wrong name does not break it.
            "wrong-name": {"get user 42": ["/response/body/user/name"]},
            "no-header": {"get user 42": ["/response/headers/x-served-by"]},
            "swapped-stream": {"stream active users": ["/response/stream/0/body",
                                                       "/response/stream/1/body"]},
            "first-name": {"bulk create": ["/response/body/user/name"]},
            "bidi-reply": {"ping pong": ["/conversation/3/server/message"]},
        }
        for bug, expected in cases.items():
            with self.subTest(bug=bug):
                code, report, stdout = self.verify(bug)
                self.assertEqual(code, 1, stdout)
                self.assertEqual(self.failures(report), expected, stdout)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--understudy", required=True)
    parser.add_argument("--repo", required=True)
    ARGS, rest = parser.parse_known_args()
    ARGS.understudy = os.path.abspath(ARGS.understudy)
    ARGS.repo = os.path.abspath(ARGS.repo)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
