'use strict';
// A Node.js client of linkedmode, built from the public protos only. See demo.js for a walk through.

const { Estate, ClientError } = require('./estate');
const { VCenterClient, CallError } = require('./vcenter');
const { faultFromError, describeError } = require('./faults');
const { loadServices, PROTOS_DIR, PUBLIC_FILES } = require('./protos');

module.exports = {
  Estate, ClientError, VCenterClient, CallError, faultFromError, describeError, loadServices, PROTOS_DIR, PUBLIC_FILES,
};
