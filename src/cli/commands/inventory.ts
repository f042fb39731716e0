/**
 * @module cli/commands/inventory
 * `kickstand inventory --format ini|json|yaml` — the registry as an Ansible inventory
 * (static INI/YAML, dynamic JSON with `_meta.hostvars`), grouped by role and profile, with
 * mesh addresses. Also speaks Ansible's dynamic-inventory script protocol (`--list`,
 * `--host NAME`). The daemon sends the dynamic JSON; the static formats are rendered here
 * with the same writer the API uses.
 */
import type { Command } from 'commander';
import { ErrorCode, invalid } from '../../errors';
import { INVENTORY_FORMATS, fromJson, toIni, toJson, toYaml, type InventoryFormat } from '../../inventory/build';
import { clientFor } from '../context';

export function registerInventory(program: Command): void {
  program
    .command('inventory')
    .description('print the hosts as an Ansible inventory, grouped by role and profile, with mesh addresses')
    .option('--format <format>', 'ini | json | yaml', 'json')
    .option('--list', 'Ansible dynamic-inventory protocol: the JSON inventory')
    .option('--host <name>', 'Ansible dynamic-inventory protocol: prints {} (hostvars are in _meta)')
    .action(async (f: { format: string; list?: boolean; host?: string }, cmd: Command) => {
      if (f.host !== undefined) return void process.stdout.write('{}\n');
      const format = (f.list ? 'json' : f.format) as InventoryFormat;
      if (!INVENTORY_FORMATS.includes(format)) {
        throw invalid(
          ErrorCode.INVALID_INPUT,
          '--format',
          `unknown inventory format ${JSON.stringify(f.format)}`,
          `use one of: ${INVENTORY_FORMATS.join(', ')}`,
        );
      }
      const inv = fromJson(await clientFor(cmd).request<Record<string, unknown>>('GET', '/inventory?format=json'));
      process.stdout.write(format === 'ini' ? toIni(inv) : format === 'yaml' ? toYaml(inv) : toJson(inv));
    });
}
