#ifndef KICKSTAND_NATIVE_H
#define KICKSTAND_NATIVE_H
#include <node_api.h>

/* Each file registers its functions on `exports`. */
napi_status init_sendfile(napi_env env, napi_value exports);
napi_status init_tftp(napi_env env, napi_value exports);

#endif
