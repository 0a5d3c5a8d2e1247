#!/usr/bin/python3
"""Calls `understudy serve` from a client written independently of it: Python gRPC.

Run as:
    /usr/bin/python3 tests/python/user_client_test.py --understudy build/understudy --repo .

Serves contracts/user_service with proto/user.proto, then pins what those contracts answer
(see contracts/user_service/README.md), plus what every mock serves whatever the contracts:
NOT_FOUND for an unmatched call, UNIMPLEMENTED for an unknown method, server reflection,
the health service and deadlines. Exits non-zero on any failure.
"""

import argparse
import importlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

import grpc
from google.protobuf import descriptor_pb2
from google.protobuf import field_mask_pb2

ARGS = None  # Set by main() before the tests run.

READY_TIMEOUT_S = 20
SHUTDOWN_TIMEOUT_S = 10
CALL_TIMEOUT_S = 10
AUTH = (("authorization", "Bearer test-token"),)

# Filled in by setUpClass once the stubs are generated.
user_pb2 = None
user_pb2_grpc = None
status_pb2 = None
error_details_pb2 = None
health_pb2 = None
health_pb2_grpc = None
reflection_pb2 = None
reflection_pb2_grpc = None


def _run(cmd):
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(cmd), result.stderr))


def _generate_stubs(repo, out_dir):
    """Writes Python modules for the protos the tests need into out_dir."""
    proto_dir = os.path.join(repo, "proto")
    # grpc's own protos are copied to top-level files: generated as grpc/health/v1/*.py they
    # would be shadowed by the installed `grpc` package.
    grpc_proto_src = os.path.join(out_dir, "grpc_protos")
    os.makedirs(grpc_proto_src)
    shutil.copy("/usr/share/grpc-proto/grpc/health/v1/health.proto",
                os.path.join(grpc_proto_src, "health.proto"))
    shutil.copy("/usr/share/grpc-proto/grpc/reflection/v1alpha/reflection.proto",
                os.path.join(grpc_proto_src, "reflection.proto"))
    jobs = [
        ([proto_dir], [os.path.join(proto_dir, "user.proto"),
                       os.path.join(proto_dir, "google/rpc/status.proto"),
                       os.path.join(proto_dir, "google/rpc/error_details.proto")]),
        ([grpc_proto_src], [os.path.join(grpc_proto_src, "health.proto"),
                            os.path.join(grpc_proto_src, "reflection.proto")]),
    ]
    try:
        grpc_tools = importlib.import_module("grpc_tools")
        # grpc_tools bundles the well-known types but does not put them on the path itself.
        base = [sys.executable, "-m", "grpc_tools.protoc",
                "-I", os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")]
        grpc_out = "--grpc_python_out="
    except ImportError:
        plugin = shutil.which("grpc_python_plugin") or "/usr/bin/grpc_python_plugin"
        base = ["protoc", "--plugin=protoc-gen-grpc=" + plugin]
        if os.path.isdir("/usr/include/google/protobuf"):
            base += ["-I", "/usr/include"]
        grpc_out = "--grpc_out="
    for includes, files in jobs:
        cmd = list(base)
        for include in includes:
            cmd += ["-I", include]
        cmd += ["--python_out=" + out_dir, grpc_out + out_dir] + files
        _run(cmd)


def _import_stubs(out_dir):
    global user_pb2, user_pb2_grpc, status_pb2, error_details_pb2
    global health_pb2, health_pb2_grpc, reflection_pb2, reflection_pb2_grpc
    sys.path.insert(0, out_dir)
    user_pb2 = importlib.import_module("user_pb2")
    user_pb2_grpc = importlib.import_module("user_pb2_grpc")
    status_pb2 = importlib.import_module("google.rpc.status_pb2")
    error_details_pb2 = importlib.import_module("google.rpc.error_details_pb2")
    health_pb2 = importlib.import_module("health_pb2")
    health_pb2_grpc = importlib.import_module("health_pb2_grpc")
    reflection_pb2 = importlib.import_module("reflection_pb2")
    reflection_pb2_grpc = importlib.import_module("reflection_pb2_grpc")


def _status_details(metadata):
    """Decodes grpc-status-details-bin from trailing metadata into a google.rpc.Status."""
    for key, value in metadata or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    return None


def _unpack(any_message, message_class):
    message = message_class()
    if not any_message.Unpack(message):
        raise AssertionError("detail is %s, not %s" %
                             (any_message.type_url, message_class.DESCRIPTOR.full_name))
    return message


class UserServiceMockTest(unittest.TestCase):
    server = None
    channel = None
    stub = None
    tmp_dir = None
    stderr_file = None

    @classmethod
    def setUpClass(cls):
        cls.tmp_dir = tempfile.mkdtemp(prefix="understudy-pytest-")
        # tearDownClass does not run when setUpClass fails; class cleanups do.
        cls.addClassCleanup(shutil.rmtree, cls.tmp_dir, ignore_errors=True)
        _generate_stubs(ARGS.repo, cls.tmp_dir)
        _import_stubs(cls.tmp_dir)

        cls.stderr_file = open(os.path.join(cls.tmp_dir, "server.stderr"), "w+")
        cls.addClassCleanup(cls.stderr_file.close)
        cmd = [ARGS.understudy, "serve",
               "--proto", os.path.join(ARGS.repo, "proto", "user.proto"),
               "--listen", "127.0.0.1:0",
               os.path.join(ARGS.repo, "contracts", "user_service")]
        cls.server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=cls.stderr_file,
                                      text=True)
        cls.addClassCleanup(cls._kill_server)
        address = cls._wait_until_listening()
        cls.channel = grpc.insecure_channel(address)
        grpc.channel_ready_future(cls.channel).result(timeout=READY_TIMEOUT_S)
        cls.stub = user_pb2_grpc.UserServiceStub(cls.channel)

    @classmethod
    def _kill_server(cls):
        if cls.server.poll() is None:
            cls.server.kill()
            cls.server.wait()

    @classmethod
    def _server_stderr(cls):
        cls.stderr_file.flush()
        cls.stderr_file.seek(0)
        return cls.stderr_file.read()

    @classmethod
    def _wait_until_listening(cls):
        """Returns HOST:PORT from the server's `listening on HOST:PORT` line."""
        lines = queue.Queue()

        def pump():
            # Keeps draining stdout for the server's whole life so it never blocks on a pipe.
            for line in cls.server.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=READY_TIMEOUT_S)
            except queue.Empty:
                raise RuntimeError("server not ready after %d s; stderr:\n%s" %
                                   (READY_TIMEOUT_S, cls._server_stderr()))
            if line is None:
                code = cls.server.wait()
                raise RuntimeError("server exited with %d before listening; stderr:\n%s" %
                                   (code, cls._server_stderr()))
            if line.startswith("listening on "):
                return line[len("listening on "):].strip()

    @classmethod
    def tearDownClass(cls):
        if cls.channel is not None:
            cls.channel.close()
        if cls.server.poll() is not None:
            raise AssertionError("server died during the tests with %d; stderr:\n%s" %
                                 (cls.server.returncode, cls._server_stderr()))
        cls.server.send_signal(signal.SIGTERM)
        try:
            code = cls.server.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise AssertionError("server still running %d s after SIGTERM" % SHUTDOWN_TIMEOUT_S)
        if code != 0:
            raise AssertionError("server exited with %d after SIGTERM; stderr:\n%s" %
                                 (code, cls._server_stderr()))

    # Helpers.

    def assertRpcError(self, error, code, details=None):
        self.assertEqual(error.code(), code, "details: %r" % error.details())
        if details is not None:
            self.assertEqual(error.details(), details)

    def assertUser(self, user, uid, name, email, status):
        self.assertEqual(user.id, uid)
        self.assertEqual(user.name, name)
        self.assertEqual(user.email, email)
        self.assertEqual(user.status, status)

    # GetUser.

    def test_get_user_returns_user_orders_headers_and_trailers(self):
        response, call = self.stub.GetUser.with_call(
            user_pb2.GetUserRequest(user_id="42"), metadata=AUTH, timeout=CALL_TIMEOUT_S)
        user = response.user
        self.assertUser(user, "42", "Ada Lovelace", "ada@example.com",
                        user_pb2.USER_STATUS_ACTIVE)
        self.assertEqual(user.created_at.ToJsonString(), "2024-01-15T10:30:00Z")
        self.assertEqual(user.updated_at.ToJsonString(), "2024-02-01T09:00:00Z")
        self.assertEqual(len(user.orders), 1)
        order = user.orders[0]
        self.assertEqual(order.id, "ord-1001")
        self.assertEqual(order.user_id, "42")
        self.assertAlmostEqual(order.total, 59.97)
        self.assertEqual(order.status, "shipped")
        self.assertEqual(order.created_at.ToJsonString(), "2024-02-20T13:45:00Z")
        self.assertEqual([(i.product_id, i.name, i.quantity) for i in order.items],
                         [("sku-123", "Analytical Engine manual", 2),
                          ("sku-456", "Punch cards (100)", 1)])
        self.assertAlmostEqual(order.items[0].price, 19.99)
        self.assertEqual(dict(call.initial_metadata()).get("x-served-by"), "understudy")
        self.assertEqual(dict(call.trailing_metadata()).get("x-backend"), "users-db-1")
        self.assertEqual(call.code(), grpc.StatusCode.OK)

    def test_get_missing_user_sends_error_info(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.GetUser(user_pb2.GetUserRequest(user_id="404"), metadata=AUTH,
                              timeout=CALL_TIMEOUT_S)
        error = raised.exception
        self.assertRpcError(error, grpc.StatusCode.NOT_FOUND, "User 404 not found")
        trailers = error.trailing_metadata()
        self.assertEqual(dict(trailers).get("x-backend"), "users-db-1")
        status = _status_details(trailers)
        self.assertIsNotNone(status, "no grpc-status-details-bin in %r" % (trailers,))
        self.assertEqual(status.code, grpc.StatusCode.NOT_FOUND.value[0])
        self.assertEqual(status.message, "User 404 not found")
        self.assertEqual(len(status.details), 1)
        info = _unpack(status.details[0], error_details_pb2.ErrorInfo)
        self.assertEqual(info.reason, "USER_NOT_FOUND")
        self.assertEqual(info.domain, "users.example.com")
        self.assertEqual(dict(info.metadata), {"user_id": "404"})

    def test_get_unknown_user_renders_template(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.GetUser(user_pb2.GetUserRequest(user_id="999"), metadata=AUTH,
                              timeout=CALL_TIMEOUT_S)
        self.assertRpcError(raised.exception, grpc.StatusCode.NOT_FOUND, "User 999 not found")

    def test_get_user_without_id_is_invalid(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.GetUser(user_pb2.GetUserRequest(), metadata=AUTH, timeout=CALL_TIMEOUT_S)
        error = raised.exception
        self.assertRpcError(error, grpc.StatusCode.INVALID_ARGUMENT, "user_id is required")
        status = _status_details(error.trailing_metadata())
        self.assertIsNotNone(status)
        bad_request = _unpack(status.details[0], error_details_pb2.BadRequest)
        self.assertEqual([(v.field, v.description) for v in bad_request.field_violations],
                         [("user_id", "must not be empty")])

    def test_calls_without_credentials_are_unauthenticated(self):
        calls = [
            ("GetUser", lambda md: self.stub.GetUser(
                user_pb2.GetUserRequest(user_id="42"), metadata=md, timeout=CALL_TIMEOUT_S)),
            ("ListUsers", lambda md: self.stub.ListUsers(
                user_pb2.ListUsersRequest(limit=2, status=user_pb2.USER_STATUS_ACTIVE),
                metadata=md, timeout=CALL_TIMEOUT_S)),
            ("CreateUser", lambda md: self.stub.CreateUser(
                user_pb2.CreateUserRequest(name="Eve", email="eve@example.com"),
                metadata=md, timeout=CALL_TIMEOUT_S)),
            ("DeleteUser", lambda md: self.stub.DeleteUser(
                user_pb2.DeleteUserRequest(user_id="1"), metadata=md, timeout=CALL_TIMEOUT_S)),
        ]
        for method, call in calls:
            for metadata in ((), (("authorization", "Basic ZXZlOnNlY3JldA=="),)):
                with self.subTest(method=method, metadata=metadata):
                    with self.assertRaises(grpc.RpcError) as raised:
                        call(metadata)
                    error = raised.exception
                    self.assertRpcError(error, grpc.StatusCode.UNAUTHENTICATED,
                                        "missing or invalid authorization header")
                    self.assertEqual(dict(error.trailing_metadata()).get("www-authenticate"),
                                     'Bearer realm="users"')

    # ListUsers.

    def test_list_users_filters_and_pages(self):
        def ids(request):
            response = self.stub.ListUsers(request, metadata=AUTH, timeout=CALL_TIMEOUT_S)
            return [u.id for u in response.users], response.total_count

        active = user_pb2.USER_STATUS_ACTIVE
        self.assertEqual(ids(user_pb2.ListUsersRequest(status=active, limit=10)),
                         (["42", "21", "58"], 3))
        self.assertEqual(ids(user_pb2.ListUsersRequest(status=active, limit=2)),
                         (["42", "21"], 3))
        self.assertEqual(ids(user_pb2.ListUsersRequest(status=active, limit=2, offset=2)),
                         (["58"], 3))
        self.assertEqual(ids(user_pb2.ListUsersRequest(status=user_pb2.USER_STATUS_INACTIVE)),
                         (["7", "13"], 2))
        self.assertEqual(ids(user_pb2.ListUsersRequest(status=user_pb2.USER_STATUS_SUSPENDED)),
                         (["7", "13"], 2))
        self.assertEqual(ids(user_pb2.ListUsersRequest()), (["42", "7", "13", "21", "58"], 5))

    def test_list_users_sends_total_count_trailer(self):
        response, call = self.stub.ListUsers.with_call(
            user_pb2.ListUsersRequest(status=user_pb2.USER_STATUS_ACTIVE, limit=2),
            metadata=AUTH, timeout=CALL_TIMEOUT_S)
        self.assertEqual(len(response.users), 2)
        self.assertUser(response.users[1], "21", "Katherine Johnson", "katherine@example.com",
                        user_pb2.USER_STATUS_ACTIVE)
        self.assertEqual(dict(call.trailing_metadata()).get("x-total-count"), "3")

    def test_list_users_rejects_limit_over_100(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.ListUsers(user_pb2.ListUsersRequest(limit=500), metadata=AUTH,
                                timeout=CALL_TIMEOUT_S)
        error = raised.exception
        self.assertRpcError(error, grpc.StatusCode.INVALID_ARGUMENT,
                            "limit must be between 0 and 100")
        status = _status_details(error.trailing_metadata())
        self.assertIsNotNone(status)
        bad_request = _unpack(status.details[0], error_details_pb2.BadRequest)
        self.assertEqual([(v.field, v.description) for v in bad_request.field_violations],
                         [("limit", "must be between 0 and 100")])

    # CreateUser.

    def test_create_user_echoes_request(self):
        response, call = self.stub.CreateUser.with_call(
            user_pb2.CreateUserRequest(name="Margaret Hamilton", email="margaret@example.org"),
            metadata=AUTH, timeout=CALL_TIMEOUT_S)
        self.assertUser(response.user, "101", "Margaret Hamilton", "margaret@example.org",
                        user_pb2.USER_STATUS_ACTIVE)
        self.assertEqual(response.user.created_at.ToJsonString(), "2024-03-10T09:00:00Z")
        self.assertEqual(response.created_count, 1)
        self.assertEqual(list(response.user_ids), ["101"])
        headers = dict(call.initial_metadata())
        self.assertEqual(headers.get("x-served-by"), "understudy")
        self.assertEqual(headers.get("location"), "/users/101")

    def test_create_user_with_malformed_email_is_invalid(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.CreateUser(
                user_pb2.CreateUserRequest(name="Margaret Hamilton", email="not-an-email"),
                metadata=AUTH, timeout=CALL_TIMEOUT_S)
        error = raised.exception
        self.assertRpcError(error, grpc.StatusCode.INVALID_ARGUMENT, "Invalid email address")
        status = _status_details(error.trailing_metadata())
        self.assertIsNotNone(status)
        self.assertEqual(status.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        bad_request = _unpack(status.details[0], error_details_pb2.BadRequest)
        self.assertEqual([(v.field, v.description) for v in bad_request.field_violations],
                         [("email", "must be a valid email address")])

    def test_create_user_with_taken_email_already_exists(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.CreateUser(
                user_pb2.CreateUserRequest(name="Ada Lovelace", email="ada@taken.example"),
                metadata=AUTH, timeout=CALL_TIMEOUT_S)
        error = raised.exception
        self.assertRpcError(error, grpc.StatusCode.ALREADY_EXISTS,
                            "A user with email ada@taken.example already exists")
        status = _status_details(error.trailing_metadata())
        self.assertIsNotNone(status)
        info = _unpack(status.details[0], error_details_pb2.ErrorInfo)
        self.assertEqual(info.reason, "EMAIL_TAKEN")
        self.assertEqual(dict(info.metadata), {"email": "ada@taken.example"})

    def test_create_user_without_name_is_invalid(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.CreateUser(user_pb2.CreateUserRequest(email="nameless@example.com"),
                                 metadata=AUTH, timeout=CALL_TIMEOUT_S)
        error = raised.exception
        self.assertRpcError(error, grpc.StatusCode.INVALID_ARGUMENT,
                            "A name and a valid email address are required")
        status = _status_details(error.trailing_metadata())
        bad_request = _unpack(status.details[0], error_details_pb2.BadRequest)
        self.assertEqual([v.field for v in bad_request.field_violations], ["name", "email"])

    # UpdateUser.

    def test_update_user_echoes_email_and_request_id(self):
        request = user_pb2.UpdateUserRequest(
            user_id="42", email="ada@newmail.example",
            update_mask=field_mask_pb2.FieldMask(paths=["email"]))
        response, call = self.stub.UpdateUser.with_call(
            request, metadata=AUTH + (("x-request-id", "req-7f3a"),), timeout=CALL_TIMEOUT_S)
        self.assertUser(response.user, "42", "Ada Lovelace", "ada@newmail.example",
                        user_pb2.USER_STATUS_ACTIVE)
        self.assertEqual(response.user.updated_at.ToJsonString(), "2024-03-01T12:00:00Z")
        self.assertEqual(dict(call.initial_metadata()).get("x-request-id"), "req-7f3a")

    def test_update_user_status(self):
        response = self.stub.UpdateUser(
            user_pb2.UpdateUserRequest(user_id="21", status=user_pb2.USER_STATUS_INACTIVE,
                                       update_mask=field_mask_pb2.FieldMask(paths=["status"])),
            metadata=AUTH, timeout=CALL_TIMEOUT_S)
        self.assertUser(response.user, "21", "Katherine Johnson", "katherine@example.com",
                        user_pb2.USER_STATUS_INACTIVE)

    def test_update_suspended_user_fails_precondition(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.UpdateUser(user_pb2.UpdateUserRequest(user_id="13", name="Alan M. Turing"),
                                 metadata=AUTH, timeout=CALL_TIMEOUT_S)
        error = raised.exception
        self.assertRpcError(error, grpc.StatusCode.FAILED_PRECONDITION,
                            "User 13 is suspended and cannot be updated")
        status = _status_details(error.trailing_metadata())
        failure = _unpack(status.details[0], error_details_pb2.PreconditionFailure)
        self.assertEqual([(v.type, v.subject) for v in failure.violations],
                         [("USER_SUSPENDED", "users/13")])

    def test_unmatched_call_is_not_found_and_names_method(self):
        # UpdateUser has no catch-all, so the mock's own answer shows through.
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.UpdateUser(user_pb2.UpdateUserRequest(user_id="999", name="Nobody"),
                                 metadata=AUTH, timeout=CALL_TIMEOUT_S)
        error = raised.exception
        self.assertRpcError(error, grpc.StatusCode.NOT_FOUND)
        self.assertIn("UpdateUser", error.details())

    # DeleteUser and the "user 7 lifecycle" scenario. Only this test touches user 7.

    def test_delete_user_scenario(self):
        user = self.stub.GetUser(user_pb2.GetUserRequest(user_id="7"), metadata=AUTH,
                                 timeout=CALL_TIMEOUT_S).user
        self.assertUser(user, "7", "Grace Hopper", "grace@example.com",
                        user_pb2.USER_STATUS_INACTIVE)

        response = self.stub.DeleteUser(user_pb2.DeleteUserRequest(user_id="7"), metadata=AUTH,
                                        timeout=CALL_TIMEOUT_S)
        self.assertTrue(response.success)

        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.GetUser(user_pb2.GetUserRequest(user_id="7"), metadata=AUTH,
                              timeout=CALL_TIMEOUT_S)
        self.assertRpcError(raised.exception, grpc.StatusCode.NOT_FOUND, "User 7 was deleted")
        status = _status_details(raised.exception.trailing_metadata())
        info = _unpack(status.details[0], error_details_pb2.ErrorInfo)
        self.assertEqual(info.reason, "USER_DELETED")

        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.DeleteUser(user_pb2.DeleteUserRequest(user_id="7"), metadata=AUTH,
                                 timeout=CALL_TIMEOUT_S)
        self.assertRpcError(raised.exception, grpc.StatusCode.NOT_FOUND, "User 7 not found")

    def test_delete_administrator_is_denied(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.DeleteUser(user_pb2.DeleteUserRequest(user_id="1"), metadata=AUTH,
                                 timeout=CALL_TIMEOUT_S)
        self.assertRpcError(raised.exception, grpc.StatusCode.PERMISSION_DENIED,
                            "The administrator account cannot be deleted")

    def test_delete_unknown_user_is_not_found(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.DeleteUser(user_pb2.DeleteUserRequest(user_id="31337"), metadata=AUTH,
                                 timeout=CALL_TIMEOUT_S)
        self.assertRpcError(raised.exception, grpc.StatusCode.NOT_FOUND, "User 31337 not found")

    # StreamUsers.

    def test_stream_users_sends_three_messages(self):
        call = self.stub.StreamUsers(
            user_pb2.StreamUsersRequest(status=user_pb2.USER_STATUS_ACTIVE), metadata=AUTH,
            timeout=CALL_TIMEOUT_S)
        self.assertEqual(dict(call.initial_metadata()).get("x-served-by"), "understudy")
        users = [message.user for message in call]
        self.assertEqual([u.id for u in users], ["42", "21", "58"])
        self.assertUser(users[2], "58", "Edsger Dijkstra", "edsger@example.com",
                        user_pb2.USER_STATUS_ACTIVE)
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        self.assertEqual(dict(call.trailing_metadata()).get("x-stream-count"), "3")

    def test_stream_users_ends_with_resource_exhausted(self):
        call = self.stub.StreamUsers(
            user_pb2.StreamUsersRequest(status=user_pb2.USER_STATUS_ACTIVE, limit=5000),
            metadata=AUTH, timeout=CALL_TIMEOUT_S)
        received = []
        with self.assertRaises(grpc.RpcError) as raised:
            for message in call:
                received.append(message.user.id)
        self.assertEqual(received, ["42", "7"])
        error = raised.exception
        self.assertRpcError(error, grpc.StatusCode.RESOURCE_EXHAUSTED,
                            "Stream quota exceeded: at most 2 users per call")
        self.assertEqual(dict(error.trailing_metadata()).get("retry-after"), "30")

    # CreateUserStream.

    def test_create_user_stream_counts_users(self):
        requests = [
            user_pb2.CreateUserRequest(name="Frances Allen", email="frances@example.com"),
            user_pb2.CreateUserRequest(name="John Backus", email="john@example.com",
                                       status=user_pb2.USER_STATUS_INACTIVE),
        ]
        response, call = self.stub.CreateUserStream.with_call(
            iter(requests), metadata=AUTH, timeout=CALL_TIMEOUT_S)
        self.assertEqual(response.created_count, 2)
        self.assertEqual(list(response.user_ids), ["201", "202"])
        self.assertUser(response.user, "202", "John Backus", "john@example.com",
                        user_pb2.USER_STATUS_ACTIVE)
        self.assertEqual(dict(call.trailing_metadata()).get("x-created-count"), "2")

    def test_create_user_stream_rejects_malformed_email(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.CreateUserStream(
                iter([user_pb2.CreateUserRequest(name="Frances Allen", email="frances")]),
                metadata=AUTH, timeout=CALL_TIMEOUT_S)
        error = raised.exception
        self.assertRpcError(error, grpc.StatusCode.INVALID_ARGUMENT,
                            "Invalid email address in message 0")
        status = _status_details(error.trailing_metadata())
        bad_request = _unpack(status.details[0], error_details_pb2.BadRequest)
        self.assertEqual([v.field for v in bad_request.field_violations], ["email"])

    def test_create_user_stream_rejects_empty_stream(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.CreateUserStream(iter([]), metadata=AUTH, timeout=CALL_TIMEOUT_S)
        self.assertRpcError(raised.exception, grpc.StatusCode.INVALID_ARGUMENT,
                            "At least one user is required")

    # BidirectionalStream.

    def test_bidirectional_stream_conversation(self):
        requests = [
            user_pb2.BidirectionalRequest(request_id="r1", action="get", user_id="42"),
            user_pb2.BidirectionalRequest(request_id="r2", action="get", user_id="7"),
            user_pb2.BidirectionalRequest(request_id="r3", action="ping"),
        ]
        call = self.stub.BidirectionalStream(iter(requests), metadata=AUTH,
                                             timeout=CALL_TIMEOUT_S)
        self.assertEqual(dict(call.initial_metadata()).get("x-served-by"), "understudy")
        responses = list(call)
        self.assertEqual([(r.request_id, r.user.id, r.user.name, r.message) for r in responses],
                         [("r1", "42", "Ada Lovelace", "user found"),
                          ("r2", "7", "Grace Hopper", "user found"),
                          ("", "", "", "pong")])
        self.assertEqual(responses[1].user.status, user_pb2.USER_STATUS_INACTIVE)
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        self.assertEqual(dict(call.trailing_metadata()).get("x-handled"), "3")

    def test_bidirectional_stream_refuses_destructive_action(self):
        call = self.stub.BidirectionalStream(
            iter([user_pb2.BidirectionalRequest(request_id="r1", action="purge", user_id="42")]),
            metadata=AUTH, timeout=CALL_TIMEOUT_S)
        with self.assertRaises(grpc.RpcError) as raised:
            list(call)
        self.assertRpcError(raised.exception, grpc.StatusCode.PERMISSION_DENIED,
                            "Destructive actions are not allowed over the stream")

    # What every mock serves, whatever its contracts.

    def test_unknown_method_is_unimplemented(self):
        nope = self.channel.unary_unary("/user.UserService/Nope")
        with self.assertRaises(grpc.RpcError) as raised:
            nope(b"", metadata=AUTH, timeout=CALL_TIMEOUT_S)
        self.assertRpcError(raised.exception, grpc.StatusCode.UNIMPLEMENTED)

    def test_reflection_lists_user_service(self):
        stub = reflection_pb2_grpc.ServerReflectionStub(self.channel)
        responses = list(stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
            timeout=CALL_TIMEOUT_S))
        self.assertEqual(len(responses), 1)
        names = [s.name for s in responses[0].list_services_response.service]
        self.assertIn("user.UserService", names)

    def test_reflection_serves_user_proto(self):
        stub = reflection_pb2_grpc.ServerReflectionStub(self.channel)
        responses = list(stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="user.UserService")]),
            timeout=CALL_TIMEOUT_S))
        self.assertEqual(len(responses), 1)
        files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                 for b in responses[0].file_descriptor_response.file_descriptor_proto]
        user_file = [f for f in files if f.name.endswith("user.proto")]
        self.assertEqual(len(user_file), 1, [f.name for f in files])
        self.assertEqual([s.name for s in user_file[0].service], ["UserService"])
        self.assertEqual(len(user_file[0].service[0].method), 8)

    def test_health_check_is_serving(self):
        stub = health_pb2_grpc.HealthStub(self.channel)
        response = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=CALL_TIMEOUT_S)
        self.assertEqual(response.status, health_pb2.HealthCheckResponse.SERVING)

    def test_deadline_shorter_than_delay_is_exceeded(self):
        # "get user 500 slowly" waits 50 ms before answering.
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.GetUser(user_pb2.GetUserRequest(user_id="500"), metadata=AUTH,
                              timeout=0.01)
        self.assertRpcError(raised.exception, grpc.StatusCode.DEADLINE_EXCEEDED)

    def test_deadline_longer_than_delay_is_met(self):
        user = self.stub.GetUser(user_pb2.GetUserRequest(user_id="500"), metadata=AUTH,
                                 timeout=CALL_TIMEOUT_S).user
        self.assertUser(user, "500", "Barbara Liskov", "barbara@example.com",
                        user_pb2.USER_STATUS_ACTIVE)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--understudy", required=True, help="path to the understudy binary")
    parser.add_argument("--repo", required=True, help="repository root (holds proto/, contracts/)")
    ARGS, unittest_args = parser.parse_known_args()
    ARGS.understudy = os.path.abspath(ARGS.understudy)
    ARGS.repo = os.path.abspath(ARGS.repo)
    unittest.main(argv=[sys.argv[0]] + unittest_args, verbosity=2)


if __name__ == "__main__":
    main()
