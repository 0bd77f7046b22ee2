{
  "targets": [
    {
      "target_name": "packet_crypto",
      "sources": ["packet_crypto.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
    }
  ]
}
