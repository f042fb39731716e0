/**
 * @module config/sections/api
 * The operator API's listener, apart from the machine listener (`http.listen`): machines on
 * the provisioning segment may answer DHCP or sniff it, so the API (bearer tokens that can
 * reimage and power-cycle anything) is never served there (docs/api.md, "Two listeners").
 * Default: loopback. A unix socket is `unix:/path` (mode 0660). Any other address needs TLS
 * (`tls.cert`, `tls.key`; `kickstand api cert` writes a self-signed pair).
 */
import { z } from 'zod';

/** `HOST:PORT` or `unix:/absolute/path`. */
const apiListen = z
  .string()
  .regex(
    /^(unix:\/.+|(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5})$/,
    'HOST:PORT or unix:/PATH, e.g. 127.0.0.1:8081 or unix:/run/kickstand/api.sock',
  );

export const DEFAULT_API_LISTEN = '127.0.0.1:8081';

export const apiSchema = z
  .object({
    /** Where /api/v1, the event feed and /metrics listen. Never the machine listener. */
    listen: apiListen.default(DEFAULT_API_LISTEN),
    /** File holding the first admin token; generated (0600) at first start. Default: <stateDir>/api-token */
    tokenFile: z.string().min(1).nullable().default(null),
    /** PEM certificate and key for HTTPS on the API listener; required when `listen` is not loopback or a unix socket. */
    tls: z
      .object({
        cert: z.string().min(1).nullable().default(null),
        key: z.string().min(1).nullable().default(null),
      })
      .strict()
      .default({ cert: null, key: null }),
  })
  .strict();

export type ApiConfig = z.infer<typeof apiSchema>;

/** True for a unix socket or a loopback address: the API may then speak plain HTTP. */
export function isLocalListen(listen: string): boolean {
  if (listen.startsWith('unix:')) return true;
  const host = listen.slice(0, listen.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
