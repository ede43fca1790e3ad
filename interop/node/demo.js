#!/usr/bin/env node
'use strict';
// The Node.js client on the command line: each command prints JSON lines, one per object or event,
// so that a script (or a test) can read what happened line by line.
//
//   node demo.js --state-dir DIR vms
//   node demo.js --state-dir DIR relocate app-required --to-vcenter vc-b --host esx-b1 \
//       --datastore ds-b-shared --pool cluster-b
//
// Exit status: 0 when everything asked for succeeded, 1 when a call was refused or a task failed
// (the JSON line says how), 2 for a mistake in the command line or the state directory (one line on
// stderr).

const { parseArgs } = require('node:util');
const { Estate, ClientError, CallError } = require('./lib');

const USAGE = `usage: node demo.js --state-dir DIR [--domain DOMAIN] [--user USER]
                    [--cert PEM --key PEM] [--ca PEM] COMMAND [ARGS]
commands:
  about                            AboutInfo of each vCenter of the domain
  vms [--vcenter NAME]             every VM of every vCenter of the domain (or of one)
  vm NAME [--vcenter NAME]         one VM (GetVm; default: the domain's first vCenter)
  events [--vcenter NAME] [--vm NAME] [--after KEY]
                                   the events of each vCenter (or of one), oldest first; --after
                                   an event key: only later ones
  relocate VM --host HOST [--to-vcenter NAME] [--datastore DS] [--pool POOL] [--vcenter FROM]
                                   RelocateVm, then WaitTask to its end: a line per task update and
                                   the result; --to-vcenter another vCenter moves it across, with a
                                   ServiceLocator read from that vCenter's GetAbout
--cert/--key present another certificate than the user's; --ca trusts another CA than the domain's.`;

const OPTIONS = {
  'state-dir': { type: 'string' },
  domain: { type: 'string', default: 'vsphere.local' },
  user: { type: 'string', default: 'administrator' },
  cert: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
  vcenter: { type: 'string' },
  'to-vcenter': { type: 'string' },
  vm: { type: 'string', default: '' },
  after: { type: 'string', default: '0' },
  host: { type: 'string' },
  datastore: { type: 'string', default: '' },
  pool: { type: 'string', default: '' },
  help: { type: 'boolean', short: 'h' },
};

const INT64_MAX = 2n ** 63n - 1n;   // larger digits would wrap around on the wire

function emit(kind, fields) {
  process.stdout.write(`${JSON.stringify({ kind, ...fields })}\n`);
}

function commandLine(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ClientError(error.message.split('\n').join(' '));   // one line, as every other mistake
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  if (!values['state-dir']) throw new ClientError('--state-dir DIR is required (the estate\'s state directory)');
  const [command, ...args] = positionals;
  if (!command) throw new ClientError('no command: about, vms, vm, events or relocate');
  return { values, command, args };
}

function expectArgs(command, args, count, what) {
  if (args.length !== count) throw new ClientError(`${command} takes ${what}`);
}

async function about(estate) {
  for (const name of estate.vcenterNames()) {
    emit('about', { vcenter: name, about: await estate.vcenter(name).about() });
  }
  return 0;
}

async function vms(estate, values) {
  const names = values.vcenter ? [values.vcenter] : estate.vcenterNames();
  for (const name of names) {
    for (const vm of await estate.vcenter(name).listVms()) emit('vm', { vcenter: name, vm });
  }
  return 0;
}

async function vm(estate, values, [name]) {
  const vcenter = values.vcenter || estate.vcenterNames()[0];
  emit('vm', { vcenter, vm: await estate.vcenter(vcenter).getVm(name) });
  return 0;
}

async function events(estate, values) {
  // an event key is an int64: it travels as a decimal string, never through a Number
  if (!/^\d+$/.test(values.after) || BigInt(values.after) > INT64_MAX) {
    throw new ClientError(`--after takes an event key (an int64, in digits), not ${values.after}`);
  }
  const names = values.vcenter ? [values.vcenter] : estate.vcenterNames();
  for (const name of names) {
    for (const event of await estate.vcenter(name).queryEvents({ after: values.after, vm: values.vm })) {
      emit('event', { vcenter: name, event });
    }
  }
  return 0;
}

async function relocate(estate, values, [name]) {
  if (!values.host) throw new ClientError('relocate needs --host HOST (in the destination vCenter)');
  const onUpdate = (task) => emit('task', {
    key: task.key, state: task.state, progress: task.progress, progress_detail: task.progress_detail,
  });
  const task = await estate.relocate(name, {
    toVcenter: values['to-vcenter'], host: values.host, datastore: values.datastore, pool: values.pool,
    from: values.vcenter, onUpdate,
  });
  emit('result', { task });
  return task.state === 'TASK_STATE_SUCCESS' ? 0 : 1;
}

const COMMANDS = {
  about: { run: about, args: 0, what: 'no argument' },
  vms: { run: vms, args: 0, what: 'no argument' },
  vm: { run: vm, args: 1, what: 'one argument: the VM\'s name' },
  events: { run: events, args: 0, what: 'no argument' },
  relocate: { run: relocate, args: 1, what: 'one argument: the VM\'s name' },
};

async function main(argv) {
  let estate = null;
  try {
    const line = commandLine(argv);
    if (line.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const command = COMMANDS[line.command];
    if (!command) throw new ClientError(`unknown command ${line.command}: about, vms, vm, events or relocate`);
    expectArgs(line.command, line.args, command.args, command.what);
    const { values } = line;
    estate = new Estate({
      stateDir: values['state-dir'], domain: values.domain, user: values.user,
      cert: values.cert, key: values.key, ca: values.ca,
    });
    return await command.run(estate, values, line.args);
  } catch (error) {
    if (error instanceof CallError) {
      const { call, vcenter, code, status, details, fault, hint } = error;
      emit('error', { call, vcenter, code, status, message: details, fault, hint });
      return 1;
    }
    if (error instanceof ClientError) {
      process.stderr.write(`demo.js: ${error.message}\n`);
      return 2;
    }
    throw error;
  } finally {
    if (estate !== null) estate.close();
  }
}

// A reader that stops early (`| head`) closes the pipe: stop quietly, as other command-line tools do.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

main(process.argv.slice(2)).then((status) => { process.exitCode = status; });
