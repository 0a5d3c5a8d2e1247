"""The benchmark's workload: interaction files for `understudy serve` and GetUser request frames.

A GetUser set of N interactions holds N - REGEXES exact matchers on `userId` (one user each) and
REGEXES interactions that match `userId` by a regular expression (which no benchmark call
satisfies, so every call still evaluates them). The call hits the exact interaction in the middle.
"""
import collections
import json
import os
import struct

REGEXES = 10
STREAM_MESSAGES = 10000

Hit = collections.namedtuple("Hit", "user_id name")
GetUsers = collections.namedtuple("GetUsers", "path hit")

# What the limit server and the peer answer (bench/limit_server.cc, bench/peer/peer.js).
LIMIT_HIT = Hit("42", "Ada Lovelace")


def _user(index):
    return {"id": f"user-{index:06d}", "name": f"User {index}",
            "email": f"user{index}@example.com", "status": "USER_STATUS_ACTIVE"}


def write_get_users(directory, count):
    regexes = REGEXES if count > REGEXES * 10 else 0
    interactions = []
    for index in range(count - regexes):
        user = _user(index)
        interactions.append({
            "name": f"get {user['id']}",
            "method": "user.UserService/GetUser",
            "request": {"body": {"userId": user["id"]}},
            "response": {"body": {"user": user}},
        })
    for index in range(regexes):
        interactions.append({
            "name": f"get a VIP user, pattern {index}",
            "method": "user.UserService/GetUser",
            "request": {"body": {"userId": {"$regex": f"vip-{index}-[0-9]{{4,8}}"}}},
            "response": {"body": {"user": {"id": f"vip-{index}", "name": "VIP",
                                           "status": "USER_STATUS_ACTIVE"}}},
        })
    path = os.path.join(directory, f"get_user_{count}.json")
    with open(path, "w") as f:
        json.dump({"interactions": interactions}, f, separators=(",", ":"))
    hit = _user((count - regexes) // 2)
    return GetUsers(path, Hit(hit["id"], hit["name"]))


def write_stream(directory, messages):
    user = {"id": "42", "name": "Ada Lovelace", "email": "ada@example.com",
            "status": "USER_STATUS_ACTIVE"}
    interaction = {
        "name": f"stream {messages} users",
        "method": "user.UserService/StreamUsers",
        "request": {"body": {}},
        "response": {"stream": [{"body": {"user": user}}] * messages},
    }
    path = os.path.join(directory, f"stream_users_{messages}.json")
    with open(path, "w") as f:
        json.dump({"interactions": [interaction]}, f, separators=(",", ":"))
    return path


def write_frame(directory, user_id):
    """A GetUserRequest{user_id} in gRPC's length-prefixed framing, as h2load's request body."""
    encoded = user_id.encode()
    message = b"\x0a" + bytes([len(encoded)]) + encoded  # field 1, length-delimited (< 128 bytes)
    path = os.path.join(directory, f"get_user_{user_id}.frame")
    with open(path, "wb") as f:
        f.write(b"\x00" + struct.pack(">I", len(message)) + message)
    return path
