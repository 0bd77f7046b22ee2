{
  "targets": [
    {
      "target_name": "fdpass",
      "sources": ["fdpass.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
