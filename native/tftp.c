#include "native.h"

napi_status init_tftp(napi_env env, napi_value exports) {
  (void)env;
  (void)exports;
  return napi_ok;
}
