{
  "targets": [
    {
      "target_name": "gssapi",
      "include_dirs": ["../common"],
      "sources": ["addon.c", "handles.c", "context_work.c", "krb5_local.c"],
      "cflags": ["-Wall", "-Wextra", "<!@(krb5-config --cflags gssapi)"],
      "libraries": ["<!@(krb5-config --libs gssapi)", "<!@(krb5-config --libs krb5)"]
    }
  ]
}
