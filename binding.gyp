{
  "targets": [
    {
      "target_name": "mremap_probe",
      "sources": [
        "native/sys/syscalls.cc",
        "native/sys/lab.cc",
        "native/sys/lab_child.cc",
        "native/binding/addon.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }]
      ]
    }
  ]
}
