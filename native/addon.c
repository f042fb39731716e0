/*
 * kickstand_native: the two data paths where Node's per-byte or per-datagram cost is the
 * bottleneck (measured in bench/RESULTS.md). Everything else stays in TypeScript.
 *   sendfile.c  HTTP boot assets: sendfile(2) from page cache to the socket on a private thread
 *               (Node has no sendfile; every byte would be copied twice through user space).
 *   tftp.c      TFTP data phase (lock-step and RFC 7440 windows) on a thread per transfer, as
 *               tftpd-hpa forks a process per transfer (Node pays ~25 µs per datagram).
 * Optional: src/native/index.ts falls back to the JavaScript paths when this is not built.
 */
#include <node_api.h>
#include "native.h"

static napi_value init(napi_env env, napi_value exports) {
  if (init_sendfile(env, exports) != napi_ok) return NULL;
  if (init_tftp(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
