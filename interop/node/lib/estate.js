'use strict';
// A running estate, as its state directory describes it: where each vCenter listens
// (endpoints.json, written by `linkedmode up`) and the certificates a client presents and trusts
// (pki/<domain>/ca.pem, pki/<domain>/user/<name>.pem and .key). Nothing else of the directory is read.

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const { VCenterClient } = require('./vcenter');

/** A mistake in what the client was given (a missing file, an unknown name): its message says which. */
class ClientError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ClientError';
  }
}

function readFile(file, what) {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new ClientError(`cannot read ${what} ${file}: ${error.code || error.message}`);
  }
}

function readEndpoints(stateDir) {
  const file = path.join(stateDir, 'endpoints.json');
  if (!fs.existsSync(file)) {
    throw new ClientError(`no ${file}: is an estate running with this state directory (linkedmode up --state-dir ${stateDir})?`);
  }
  try {
    return JSON.parse(readFile(file, 'the endpoints file'));
  } catch (error) {
    if (error instanceof ClientError) throw error;
    throw new ClientError(`${file} is not JSON: ${error.message}`);
  }
}

class Estate {
  /**
   * @param {object} options
   * @param {string} options.stateDir the estate's state directory
   * @param {string} [options.domain] the SSO domain to act in (vsphere.local)
   * @param {string} [options.user] whose certificate to present (administrator)
   * @param {string} [options.cert] another certificate to present (PEM), instead of the user's
   * @param {string} [options.key] its private key (PEM)
   * @param {string} [options.ca] another CA certificate to trust, instead of the domain's
   */
  constructor({ stateDir, domain = 'vsphere.local', user = 'administrator', cert, key, ca }) {
    const endpoints = readEndpoints(stateDir);
    this.domain = (endpoints.sso_domains || []).find((d) => d.name === domain);
    if (!this.domain) {
      const known = (endpoints.sso_domains || []).map((d) => d.name).join(', ');
      throw new ClientError(`no SSO domain ${domain} in this estate (it has: ${known})`);
    }
    if ((cert === undefined) !== (key === undefined)) {
      throw new ClientError('--cert and --key go together: a certificate and its private key');
    }
    const users = Object.keys(this.domain.users || {});
    if (cert === undefined && !users.includes(user)) {
      throw new ClientError(`no user ${user} in SSO domain ${domain} (it has: ${users.join(', ')})`);
    }
    const pki = path.join(stateDir, 'pki', domain);
    const certFile = cert || path.join(pki, 'user', `${user}.pem`);
    const keyFile = key || path.join(pki, 'user', `${user}.key`);
    this.credentials = grpc.credentials.createSsl(
      readFile(ca || path.join(pki, 'ca.pem'), 'the CA certificate'),
      readFile(keyFile, 'the private key'),
      readFile(certFile, 'the certificate'),
    );
    this.clients = new Map();
  }

  /** The names of the domain's vCenters, in the order of the topology. */
  vcenterNames() {
    return this.domain.vcenters.map((vc) => vc.name);
  }

  /** A client of vCenter `name` (one per vCenter, kept until close). */
  vcenter(name) {
    if (!this.clients.has(name)) {
      const entry = this.domain.vcenters.find((vc) => vc.name === name);
      if (!entry) {
        throw new ClientError(`no vCenter ${name} in SSO domain ${this.domain.name} (it has: ${this.vcenterNames().join(', ')})`);
      }
      const serverName = `${name}.vcenter.${this.domain.name}`;
      this.clients.set(name, new VCenterClient(name, entry.address, this.credentials, serverName));
    }
    return this.clients.get(name);
  }

  /** The vCenter whose inventory holds VM `vm`, asking each of the domain's vCenters in turn. */
  async findVm(vm) {
    for (const name of this.vcenterNames()) {
      const vms = await this.vcenter(name).listVms();
      if (vms.some((v) => v.name === vm)) return this.vcenter(name);
    }
    throw new ClientError(`no VM ${vm} in any vCenter of ${this.domain.name}`);
  }

  /**
   * The ServiceLocator naming vCenter `name`, from its own GetAbout: what RelocateSpec.service needs
   * to move a VM there from another vCenter.
   */
  async locator(name) {
    const about = await this.vcenter(name).about();
    return { instance_uuid: about.instance_uuid, url: about.url, ssl_thumbprint: about.thumbprint };
  }

  /**
   * Relocates `vm` to host `host` of vCenter `toVcenter` (datastore and resource pool there; the pool
   * is the cluster's name), follows the task, and resolves with its last state. When the VM is in
   * another vCenter, the spec names the destination with a locator from the destination's GetAbout.
   */
  async relocate(vm, { toVcenter, host, datastore = '', pool = '', from = null, onUpdate = () => {} }) {
    const source = from ? this.vcenter(from) : await this.findVm(vm);
    const spec = { host, datastore, pool };
    if (toVcenter && toVcenter !== source.name) spec.service = await this.locator(toVcenter);
    const task = await source.relocate(vm, spec);
    return source.waitTask(task.key, onUpdate);   // its first message is the task as it is now
  }

  close() {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

module.exports = { Estate, ClientError };
