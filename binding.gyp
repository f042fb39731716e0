{
  "targets": [
    {
      "target_name": "kickstand_native",
      "sources": ["native/addon.c", "native/sendfile.c", "native/tftp.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "libraries": ["-lpthread"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
