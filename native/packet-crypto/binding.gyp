{
  "targets": [
    {
      "target_name": "packet_crypto",
      "include_dirs": ["../common"],
      "sources": ["packet_crypto.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
    }
  ]
}
