'use strict';
// The public API of linkedmode, loaded at run time from the .proto files under protos/: no generated
// code, nothing of the Python package. Only the public files are named here; linked_mode.proto and
// host_agent.proto are the internal API between the parts and no public file imports them.

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

// protos/ of this repository; LINKEDMODE_PROTOS points elsewhere (a copy shipped with a tool).
const PROTOS_DIR = process.env.LINKEDMODE_PROTOS || path.resolve(__dirname, '..', '..', '..', 'protos');

const PUBLIC_FILES = [
  'linkedmode/v1/common.proto',
  'linkedmode/v1/inventory.proto',
  'linkedmode/v1/fault_rules.proto',
  'linkedmode/v1/vcenter.proto',
  'linkedmode/v1/emulator.proto',
];

// How proto-loader turns messages into JavaScript objects:
// - longs: String. int64 and fixed64 fields (MigrationResult.migration_id, Event.key and chain_id,
//   byte counts) become decimal strings. A JavaScript number holds integers exactly only up to 2^53,
//   and a migration id is a random 64-bit number: as a number it would come back rounded, silently.
//   Strings survive JSON.stringify too (BigInt does not); use BigInt(value) to compute with one. When
//   sending, give an int64 field a decimal string (a number is taken too, but is exact only to 2^53).
// - enums: String. Enum values read as their names ("TASK_STATE_SUCCESS"), as the protos spell them.
// - keepCase: field names as in the protos (instance_uuid, not instanceUuid), like every other language.
// - defaults: unset scalars read as their zero value, as in proto3; oneofs: a oneof's name gives the
//   field that is set (task.result === 'migration').
const LOADER_OPTIONS = {
  includeDirs: [PROTOS_DIR],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

let services = null;
let statusTypes = null;

/** The gRPC service constructors of the public API: { VCenter, Emulator }. */
function loadServices() {
  if (services === null) {
    const definition = protoLoader.loadSync(PUBLIC_FILES, LOADER_OPTIONS);
    const v1 = grpc.loadPackageDefinition(definition).linkedmode.v1;
    services = { VCenter: v1.VCenter, Emulator: v1.Emulator };
  }
  return services;
}

/**
 * protobufjs types for reading an error's details: google.rpc.Status (the trailer
 * `grpc-status-details-bin`, in the shipped protos/google/rpc/status.proto) and linkedmode.v1.Fault,
 * which the Status carries packed in a google.protobuf.Any. grpc-js hands the trailer over as bytes
 * and decodes none of it, so this is done here.
 */
function loadStatusTypes() {
  if (statusTypes === null) {
    const root = new protobuf.Root();
    // imports are relative to protos/; google/protobuf/*.proto are bundled with protobufjs
    root.resolvePath = (origin, target) => (path.isAbsolute(target) ? target : path.join(PROTOS_DIR, target));
    root.loadSync(['google/rpc/status.proto', 'linkedmode/v1/common.proto'], { keepCase: true });
    statusTypes = { Status: root.lookupType('google.rpc.Status'), Fault: root.lookupType('linkedmode.v1.Fault') };
  }
  return statusTypes;
}

module.exports = { PROTOS_DIR, PUBLIC_FILES, loadServices, loadStatusTypes };
