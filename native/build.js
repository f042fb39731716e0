#!/usr/bin/env node
/*
 * npm install hook: builds the optional native fast paths (binding.gyp) with npm's own node-gyp.
 * A failed build is not fatal: Kickstand then uses its JavaScript paths and says so at start.
 * KICKSTAND_NATIVE_REQUIRED=1 (set by .ci/run) makes a failed build fail the install.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const gyp = process.env.npm_config_node_gyp;
const cmd = gyp ? [process.execPath, [gyp, 'rebuild']] : ['npx', ['--no-install', 'node-gyp', 'rebuild']];
const r = spawnSync(cmd[0], cmd[1], { cwd: root, stdio: 'inherit' });
if (r.status === 0) process.exit(0);
const why = r.error ? r.error.message : `exit ${r.status}`;
process.stderr.write(
  `kickstand: native fast paths not built (${why}); TFTP and HTTP assets will use the slower JavaScript paths.\n` +
    '  fix: install a C toolchain (Debian: apt-get install build-essential python3) and run npm rebuild kickstand\n',
);
process.exit(process.env.KICKSTAND_NATIVE_REQUIRED === '1' ? 1 : 0);
