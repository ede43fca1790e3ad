'use strict';
// A client of one vCenter's public API (the VCenter service), with promises instead of callbacks.

const { loadServices } = require('./protos');
const { describeError } = require('./faults');

const CALL_SECONDS = 30;       // one unary call
const TASK_SECONDS = 300;      // following a task to its end (a migration queues, then streams)

/** A failed call: which one, on which vCenter, and what the server said (see describeError). */
class CallError extends Error {
  constructor(call, vcenter, cause) {
    const described = describeError(cause);
    super(`${call} on ${vcenter}: ${described.status}: ${described.message}`);
    this.name = 'CallError';
    this.call = call;
    this.vcenter = vcenter;
    this.code = described.code;            // the gRPC status code (7)
    this.status = described.status;        // its name ('PERMISSION_DENIED')
    this.details = described.message;      // the status message
    this.fault = described.fault;          // the linkedmode.v1.Fault, or null
    this.hint = described.hint;            // when there is no Fault: what UNAVAILABLE may mean
  }
}

function deadline(seconds) {
  return new Date(Date.now() + seconds * 1000);
}

class VCenterClient {
  /**
   * @param {string} name the vCenter's name in the topology (vc-a)
   * @param {string} address host:port of its API
   * @param {import('@grpc/grpc-js').ChannelCredentials} credentials mutual TLS: the domain's CA and the user's certificate
   * @param {string} serverName the DNS name its certificate is checked against (vc-a.vcenter.vsphere.local)
   */
  constructor(name, address, credentials, serverName) {
    const { VCenter } = loadServices();
    this.name = name;
    this.address = address;
    this.stub = new VCenter(address, credentials, {
      // dial the address, check the certificate under the vCenter's identity
      'grpc.ssl_target_name_override': serverName,
      'grpc.default_authority': serverName,
    });
  }

  /** One unary call by its RPC name ('ListVms'); rejects with a CallError. */
  call(method, request = {}, seconds = CALL_SECONDS) {
    return new Promise((resolve, reject) => {
      this.stub[method](request, { deadline: deadline(seconds) }, (error, reply) => {
        if (error) reject(new CallError(method, this.name, error));
        else resolve(reply);
      });
    });
  }

  about() {
    return this.call('GetAbout');
  }

  async listVms(request = {}) {
    return (await this.call('ListVms', request)).vms;
  }

  getVm(name) {
    return this.call('GetVm', { name });
  }

  getTask(key) {
    return this.call('GetTask', { key });
  }

  /**
   * Events of this vCenter, oldest first: those after event key `after` (a decimal string: event
   * keys are int64), about VM `vm` when given.
   */
  async queryEvents({ after = '0', vm = '', types = [], limit = 0 } = {}) {
    return (await this.call('QueryEvents', { after_key: after, vm, types, limit })).events;
  }

  /** RelocateVM_Task: returns the task at once (queued or running); follow it with waitTask. */
  relocate(vm, spec, priority = 'MOVE_PRIORITY_DEFAULT') {
    return this.call('RelocateVm', { vm: { name: vm }, spec, priority });
  }

  /**
   * Follows a task through WaitTask until it ends; calls onUpdate(task) for each state the server
   * streams, and resolves with the last one (TASK_STATE_SUCCESS or TASK_STATE_ERROR).
   */
  async waitTask(key, onUpdate = () => {}, seconds = TASK_SECONDS) {
    const stream = this.stub.WaitTask({ key }, { deadline: deadline(seconds) });
    let last = null;
    try {
      for await (const task of stream) {
        last = task;
        onUpdate(task);
      }
    } catch (error) {
      throw new CallError('WaitTask', this.name, error);
    }
    if (last === null) throw new Error(`WaitTask on ${this.name}: the stream of ${key} ended without a task`);
    return last;
  }

  close() {
    this.stub.close();
  }
}

module.exports = { VCenterClient, CallError };
