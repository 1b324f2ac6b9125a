{
  "targets": [
    {
      "target_name": "ane_native",
      "sources": [
        "src/addon.cpp",
        "src/json_napi.cpp",
        "src/json_parse.cpp",
        "src/graph_parse.cpp",
        "src/validate.cpp",
        "src/shapes.cpp",
        "src/buffer_plan.cpp",
        "src/cost.cpp",
        "src/result_json.cpp",
        "src/fp16.cpp",
        "src/executor.cpp",
        "src/kernels_gemm.cpp",
        "src/kernels_einsum.cpp",
        "src/kernels_conv.cpp",
        "src/kernels_winograd.cpp",
        "src/kernels_convt.cpp",
        "src/kernels_elementwise.cpp",
        "src/kernels_reduce.cpp",
        "src/kernels_pool.cpp",
        "src/kernels_layout.cpp",
        "src/kernels_norm.cpp",
        "src/kernels_index.cpp",
        "src/op_registry.cpp"
      ],
      "include_dirs": [
        "<!@(node -p \"require('node-addon-api').include\")"
      ],
      "defines": [ "NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8" ],
      "cflags!": [ "-fno-exceptions", "-fno-rtti" ],
      "cflags_cc!": [ "-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20" ],
      "cflags": [ "-O2", "-fexceptions" ],
      "cflags_cc": [ "-std=c++17", "-O2", "-fvect-cost-model=dynamic", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter" ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": [ "-O2", "-fexceptions" ]
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
    }
  ]
}
