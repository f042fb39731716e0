/**
 * A FAKE Redfish service (no Redfish emulator is packaged for Debian here), written to follow
 * DMTF DSP0266 and the ComputerSystem schema (DSP2046) for the parts Kickstand uses:
 * the Systems collection, a ComputerSystem with `Boot` override properties and
 * `#ComputerSystem.Reset`, ETags with If-Match (412 on mismatch, optional 428 when missing),
 * HTTP Basic auth (401 otherwise), `@Redfish.AllowableValues` inline or via ActionInfo, and
 * Redfish error bodies. It records every request so tests can assert the exact wire traffic.
 * Tests that use it say "fake Redfish" in their names.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RecordedRequest {
  method: string;
  path: string;
  authorized: boolean;
  ifMatch: string | undefined;
  contentType: string | undefined;
  odataVersion: string | undefined;
  body: unknown;
}

export interface FakeSystem {
  id: string;
  powerState: 'On' | 'Off';
  boot: { BootSourceOverrideTarget: string; BootSourceOverrideEnabled: string; BootSourceOverrideMode?: string };
  /** Bumped on every change; the ETag is `"fake-<version>"`. */
  version: number;
  resets: string[];
}

export interface FakeRedfishOptions {
  username: string;
  password: string;
  /** PEM key and cert: serve HTTPS (like a real BMC); otherwise plain HTTP. */
  tls?: { key: string; cert: string };
  systemIds?: string[];
  /** How ResetType AllowableValues are published: inline (iDRAC, iLO), ActionInfo (bmcweb), not at all. */
  allowable?: 'inline' | 'actioninfo' | 'none';
  resetTypes?: string[];
  bootTargets?: string[];
  /** Publish BootSourceOverrideMode with these allowable values (absent when undefined). */
  bootModes?: string[];
  /** ETag as a response header, as `@odata.etag` in the body, or none. */
  etag?: 'header' | 'body' | 'none';
  requireIfMatch?: boolean;
  initialPower?: 'On' | 'Off';
  /** Override the collection's member links (to test links the client must refuse). */
  memberLinks?: string[];
  /** Paths whose requests are never answered (to test client deadlines). */
  hangPaths?: string[];
  /** Paths answered with headers and part of a body that never ends. */
  stallBodyPaths?: string[];
}

const ALL_RESETS = [
  'On',
  'ForceOff',
  'GracefulShutdown',
  'GracefulRestart',
  'ForceRestart',
  'Nmi',
  'ForceOn',
  'PushPowerButton',
  'PowerCycle',
];
const ALL_TARGETS = ['None', 'Pxe', 'Cd', 'Usb', 'Hdd', 'BiosSetup', 'UefiHttp'];

/** A self-signed cert for 127.0.0.1 made by the openssl CLI (Debian `openssl`). */
export function selfSignedCert(dir: string): { key: string; cert: string } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore', timeout: 20_000 },
  );
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

interface Answer {
  status: number;
  body?: unknown;
  etag?: string;
}

function redfishError(status: number, messageId: string, message: string): Answer {
  return {
    status,
    body: {
      error: {
        code: `Base.1.16.${messageId}`,
        message,
        '@Message.ExtendedInfo': [{ MessageId: `Base.1.16.${messageId}`, Message: message }],
      },
    },
  };
}

export class FakeRedfish {
  readonly requests: RecordedRequest[] = [];
  readonly systems = new Map<string, FakeSystem>();
  /** Called after a GET of a system is answered (e.g. to simulate another client's change). */
  afterSystemGet: ((s: FakeSystem) => void) | undefined;
  private server: http.Server | undefined;
  private readonly opts: Required<Omit<FakeRedfishOptions, 'tls' | 'bootModes' | 'memberLinks'>> & FakeRedfishOptions;

  constructor(opts: FakeRedfishOptions) {
    this.opts = {
      systemIds: ['1'],
      allowable: 'inline',
      resetTypes: ALL_RESETS,
      bootTargets: ALL_TARGETS,
      etag: 'header',
      requireIfMatch: false,
      initialPower: 'On',
      hangPaths: [],
      stallBodyPaths: [],
      ...opts,
    };
    for (const id of this.opts.systemIds) {
      const boot: FakeSystem['boot'] = { BootSourceOverrideTarget: 'None', BootSourceOverrideEnabled: 'Disabled' };
      if (opts.bootModes !== undefined) boot.BootSourceOverrideMode = 'Legacy';
      this.systems.set(id, { id, powerState: this.opts.initialPower, boot, version: 1, resets: [] });
    }
  }

  /** Listens on 127.0.0.1:0; resolves to the port. */
  async start(): Promise<number> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => void this.handle(req, res);
    this.server = this.opts.tls
      ? https.createServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, handler)
      : http.createServer(handler);
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
    this.server = undefined;
  }

  etagOf(s: FakeSystem): string {
    return `"fake-${s.version}"`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = raw.length ? JSON.parse(raw) : undefined;
    } catch {
      body = { unparsable: raw };
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const expected = `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password}`).toString('base64')}`;
    const authorized = req.headers.authorization === expected;
    const h = (n: string): string | undefined => (typeof req.headers[n] === 'string' ? req.headers[n] : undefined);
    this.requests.push({
      method: req.method ?? '',
      path,
      authorized,
      ifMatch: h('if-match'),
      contentType: h('content-type'),
      odataVersion: h('odata-version'),
      body,
    });
    if (this.opts.hangPaths.includes(path)) return; // never answered
    if (this.opts.stallBodyPaths.includes(path)) {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' });
      res.write('{"Members": [');
      return; // the rest never comes
    }
    const out: Answer = authorized
      ? this.route(req.method ?? '', path, body, h('if-match'), h('content-type'))
      : redfishError(
          401,
          'InsufficientPrivilege',
          'There are insufficient privileges for the account or credentials associated with the current session to perform the requested operation.',
        );
    const headers: Record<string, string> = { 'OData-Version': '4.0' };
    if (out.status === 401) headers['WWW-Authenticate'] = 'Basic realm="fake-redfish"';
    if (out.etag !== undefined) headers.ETag = out.etag;
    if (out.body !== undefined) headers['Content-Type'] = 'application/json';
    res.writeHead(out.status, headers);
    res.end(out.body === undefined ? undefined : JSON.stringify(out.body));
  }

  private route(
    method: string,
    path: string,
    body: unknown,
    ifMatch: string | undefined,
    contentType: string | undefined,
  ): Answer {
    if (method === 'GET' && path === '/redfish/v1/Systems') {
      const links = this.opts.memberLinks ?? [...this.systems.keys()].map((id) => `/redfish/v1/Systems/${id}`);
      return {
        status: 200,
        body: {
          '@odata.id': path,
          '@odata.type': '#ComputerSystemCollection.ComputerSystemCollection',
          Name: 'Computer System Collection',
          'Members@odata.count': links.length,
          Members: links.map((l) => ({ '@odata.id': l })),
        },
      };
    }
    const m = /^\/redfish\/v1\/Systems\/([^/]+)(\/.*)?$/.exec(path);
    const sys = m ? this.systems.get(decodeURIComponent(m[1]!)) : undefined;
    if (!m || !sys)
      return redfishError(
        404,
        'ResourceNotFound',
        `The requested resource of type ComputerSystem named '${m?.[1] ?? path}' was not found.`,
      );
    const sub = m[2] ?? '';
    if (sub === '' && method === 'GET') {
      const out = {
        status: 200,
        body: this.systemBody(sys),
        ...(this.opts.etag === 'header' ? { etag: this.etagOf(sys) } : {}),
      };
      this.afterSystemGet?.(sys);
      return out;
    }
    if (sub === '' && method === 'PATCH') return this.patchSystem(sys, body, ifMatch, contentType);
    if (sub === '/ResetActionInfo' && method === 'GET' && this.opts.allowable === 'actioninfo') {
      return {
        status: 200,
        body: {
          '@odata.id': path,
          '@odata.type': '#ActionInfo.v1_1_2.ActionInfo',
          Id: 'ResetActionInfo',
          Name: 'Reset Action Info',
          Parameters: [
            { Name: 'ResetType', Required: true, DataType: 'String', AllowableValues: this.opts.resetTypes },
          ],
        },
      };
    }
    if (sub === '/Actions/ComputerSystem.Reset' && method === 'POST') return this.reset(sys, body, contentType);
    if (sub === '' || sub.startsWith('/Actions/'))
      return redfishError(405, 'OperationNotAllowed', `The HTTP method ${method} is not allowed on this resource.`);
    return redfishError(404, 'ResourceNotFound', `The requested resource was not found: ${path}`);
  }

  private systemBody(sys: FakeSystem): unknown {
    const base = `/redfish/v1/Systems/${sys.id}`;
    const reset: Record<string, unknown> = { target: `${base}/Actions/ComputerSystem.Reset` };
    if (this.opts.allowable === 'inline') reset['ResetType@Redfish.AllowableValues'] = this.opts.resetTypes;
    if (this.opts.allowable === 'actioninfo') reset['@Redfish.ActionInfo'] = `${base}/ResetActionInfo`;
    const boot: Record<string, unknown> = {
      ...sys.boot,
      'BootSourceOverrideTarget@Redfish.AllowableValues': this.opts.bootTargets,
    };
    if (this.opts.bootModes !== undefined) boot['BootSourceOverrideMode@Redfish.AllowableValues'] = this.opts.bootModes;
    return {
      '@odata.id': base,
      '@odata.type': '#ComputerSystem.v1_20_0.ComputerSystem',
      ...(this.opts.etag === 'body' ? { '@odata.etag': this.etagOf(sys) } : {}),
      Id: sys.id,
      Name: 'Fake Redfish system',
      PowerState: sys.powerState,
      Boot: boot,
      Actions: { '#ComputerSystem.Reset': reset },
    };
  }

  /** DSP0266 "PATCH (update)": If-Match checked, unknown properties and values refused. */
  private patchSystem(
    sys: FakeSystem,
    body: unknown,
    ifMatch: string | undefined,
    contentType: string | undefined,
  ): Answer {
    if (contentType !== 'application/json')
      return redfishError(415, 'UnsupportedMediaType', 'The request specified a media type that is not supported.');
    if (ifMatch === undefined && this.opts.requireIfMatch)
      return redfishError(
        428,
        'PreconditionRequired',
        'A precondition header or annotation is required to change this resource.',
      );
    if (ifMatch !== undefined && ifMatch !== this.etagOf(sys))
      return redfishError(
        412,
        'PreconditionFailed',
        'The ETag supplied did not match the ETag required to change this resource.',
      );
    const patch = (body as { Boot?: Record<string, unknown> } | undefined) ?? {};
    const keys = Object.keys(patch);
    if (keys.length !== 1 || keys[0] !== 'Boot' || typeof patch.Boot !== 'object' || patch.Boot === null)
      return redfishError(
        400,
        'PropertyUnknown',
        `The property ${keys.find((k) => k !== 'Boot') ?? 'Boot'} is not in the list of valid properties for the resource.`,
      );
    const allowed: Record<string, string[] | undefined> = {
      BootSourceOverrideTarget: this.opts.bootTargets,
      BootSourceOverrideEnabled: ['Disabled', 'Once', 'Continuous'],
      BootSourceOverrideMode: this.opts.bootModes,
    };
    for (const [k, v] of Object.entries(patch.Boot)) {
      const list = allowed[k];
      if (list === undefined)
        return redfishError(
          400,
          'PropertyUnknown',
          `The property ${k} is not in the list of valid properties for the resource.`,
        );
      if (typeof v !== 'string' || !list.includes(v))
        return redfishError(
          400,
          'PropertyValueNotInList',
          `The value ${JSON.stringify(v)} for the property ${k} is not in the list of acceptable values.`,
        );
    }
    Object.assign(sys.boot, patch.Boot);
    sys.version++;
    return { status: 204 };
  }

  private reset(sys: FakeSystem, body: unknown, contentType: string | undefined): Answer {
    if (contentType !== 'application/json')
      return redfishError(415, 'UnsupportedMediaType', 'The request specified a media type that is not supported.');
    const type = (body as { ResetType?: unknown } | undefined)?.ResetType;
    if (typeof type !== 'string' || !this.opts.resetTypes.includes(type)) {
      return redfishError(
        400,
        'ActionParameterValueNotInList',
        `The value ${JSON.stringify(type)} for the parameter ResetType in the action ComputerSystem.Reset is not in the list of acceptable values.`,
      );
    }
    sys.resets.push(type);
    if (type === 'ForceOff' || type === 'GracefulShutdown') sys.powerState = 'Off';
    else sys.powerState = 'On';
    sys.version++;
    return { status: 204 };
  }
}
