'use strict';
// The vSphere fault behind a failed call or task, read as a plain object:
// { name: 'NoPermission', object: 'vm-12', message: '...', arguments: { ... } }.

const grpc = require('@grpc/grpc-js');
const { loadStatusTypes } = require('./protos');

const STATUS_DETAILS = 'grpc-status-details-bin';
const FAULT_TYPE = 'linkedmode.v1.Fault';

/** The status code's name: 7 -> 'PERMISSION_DENIED'. */
function statusName(code) {
  return grpc.status[code] || String(code);
}

function faultObject(message, Fault) {
  return Fault.toObject(message, { defaults: true, objects: true });
}

/**
 * The Fault a failed call carried, from the google.rpc.Status in its trailers; null when it carried
 * none (a refused TLS handshake, a server that is down: the status code tells those apart).
 */
function faultFromError(error) {
  const trailers = error && error.metadata;
  if (!trailers || typeof trailers.get !== 'function') return null;
  const { Status, Fault } = loadStatusTypes();
  for (const bytes of trailers.get(STATUS_DETAILS)) {
    const status = Status.decode(bytes);
    for (const detail of status.details) {
      // an Any's type_url is "type.googleapis.com/<full message name>"
      if (detail.type_url.slice(detail.type_url.lastIndexOf('/') + 1) === FAULT_TYPE) {
        return faultObject(Fault.decode(detail.value), Fault);
      }
    }
  }
  return null;
}

// What UNAVAILABLE without a Fault means here: the server never answered the call. grpc-js does not
// say why a TLS handshake failed, so the usual reasons are named.
const NO_CONNECTION = 'no connection: the server is down, or the TLS handshake failed (a client '
  + 'certificate from another CA or SSO domain, an expired one, or a server certificate this client does not trust)';

/**
 * A failed call as a plain object: its status code (number and name), message, the Fault it carried
 * (or null), and, when it carried none, a hint at what went wrong.
 */
function describeError(error) {
  const fault = faultFromError(error);
  const described = { code: error.code, status: statusName(error.code), message: error.details || error.message, fault };
  if (fault === null && error.code === grpc.status.UNAVAILABLE) described.hint = NO_CONNECTION;
  return described;
}

module.exports = { faultFromError, describeError, statusName };
