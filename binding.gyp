{
  "targets": [
    {
      "target_name": "sandstore_fuse",
      "sources": ["native/fuse-bridge.c"],
      "cflags": ["<!@(pkg-config fuse3 --cflags)", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["<!@(pkg-config fuse3 --libs)"]
    }
  ]
}
