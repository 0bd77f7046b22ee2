{
  "targets": [
    {
      "target_name": "fdpass",
      "include_dirs": ["../common"],
      "sources": ["fdpass.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
