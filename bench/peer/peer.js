// Benchmark peer: the npm package @alenon/grpc-mock-server serving user.UserService with
// constant answers, so the benchmark can compare our mock against it.
//
//   npm ci --prefix bench/peer
//   node bench/peer/peer.js --proto proto/user.proto [--port N]
//
// Port 0 or none picks a free port. Prints `listening on 127.0.0.1:PORT` on stdout once the
// server answers; errors go to stderr; SIGTERM/SIGINT end it at once.
//
// The proto loads as it is: @grpc/proto-loader (protobufjs) resolves the google/protobuf/*
// imports from the well-known types bundled in protobufjs, so no flattening is needed.
'use strict';

const fs = require('fs');
const { parseArgs } = require('util');
const grpc = require('@grpc/grpc-js');
const { GrpcMockServer } = require('@alenon/grpc-mock-server');

const USER = { id: '42', name: 'Ada Lovelace', email: 'ada@example.com', status: 'USER_STATUS_ACTIVE' };
const GET_USER_RESPONSE = { user: USER };
const USER_RESPONSE = { user: USER };

const handlers = {
  GetUser(call, callback) {
    callback(null, GET_USER_RESPONSE);
  },
  // Writes `limit` messages (10 when 0), waiting for 'drain' when the transport pushes back.
  StreamUsers(call) {
    let left = call.request.limit || 10;
    const pump = () => {
      while (left > 0) {
        left--;
        if (!call.write(USER_RESPONSE) && left > 0) {
          call.once('drain', pump);
          return;
        }
      }
      call.end();
    };
    call.on('cancelled', () => { left = 0; });
    pump();
  },
};

function main() {
  const { values } = parseArgs({ options: { proto: { type: 'string' }, port: { type: 'string', default: '0' } } });
  const port = Number(values.port);
  if (!values.proto || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error('usage: node peer.js --proto FILE [--port N]');
  }
  const mock = new GrpcMockServer(`127.0.0.1:${port}`);
  mock.addService(values.proto, 'user', 'UserService', handlers, { keepCase: true });
  // GrpcMockServer.start() drops the port bindAsync reports (useless with port 0) and calls the
  // deprecated grpc.Server.start(); binding its grpc.Server directly also starts serving.
  mock.server.bindAsync(mock.serverAddress, grpc.ServerCredentials.createInsecure(), (err, bound) => {
    if (err) fail(err);
    fs.writeSync(1, `listening on 127.0.0.1:${bound}\n`);
  });
}

function fail(err) {
  process.stderr.write(`peer: ${err.message || err}\n`);
  process.exit(1);
}

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
try {
  main();
} catch (err) {
  fail(err);
}
