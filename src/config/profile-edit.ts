/**
 * @module config/profile-edit
 * Creates or updates one profile in the config file, keeping the file's comments and layout
 * (yaml Document API), and only when the result still validates: the edited text is loaded
 * (config/load.ts) before it replaces the file, atomically.
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isMap, parseDocument } from 'yaml';
import { loadConfig } from './load';

export interface ProfileFields {
  kernel: string;
  initrd: string;
  installTree: string;
  /** Only set when the profile is new (an existing profile keeps its kickstart). */
  kickstart: string;
}

/** Returns 'created' or 'updated'. Throws ConfigError (file, key, fix) when the result is invalid. */
export function upsertProfile(file: string, name: string, f: ProfileFields): 'created' | 'updated' {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  const existing = doc.getIn(['profiles', name]);
  const created = !isMap(existing);
  if (!isMap(doc.get('profiles'))) doc.set('profiles', doc.createNode({}));
  if (created) doc.setIn(['profiles', name], doc.createNode({ ...f }));
  else {
    doc.setIn(['profiles', name, 'kernel'], f.kernel);
    doc.setIn(['profiles', name, 'initrd'], f.initrd);
    doc.setIn(['profiles', name, 'installTree'], f.installTree);
  }
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, doc.toString(), { mode: statSync(file).mode & 0o777 });
  try {
    loadConfig({ file: tmp }); // with the environment the daemon sees
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  renameSync(tmp, file);
  return created ? 'created' : 'updated';
}
