# libnnlab-tools, the monitor (src/stats/, `nnlab stats`): loads NVML at run
# time with dlopen, so the tools library links libdl (no build dependency on
# NVML or CUDA).
list(APPEND NNLAB_TOOLS_LINK_LIBS ${CMAKE_DL_LIBS})
if(CMAKE_DL_LIBS)
  list(APPEND NNLAB_TOOLS_PC_LIBS_PRIVATE -l${CMAKE_DL_LIBS})
endif()

# A stand-in NVML library for the tests (GPU code path on machines without an
# NVIDIA GPU). The monitor loads it through NNLAB_NVML_LIB; it lands next to the
# test programs, in <build>/tests/.
if(NNLAB_TESTS AND BUILD_TESTING)
  add_library(nnlab_fake_nvml SHARED ${PROJECT_SOURCE_DIR}/tests/fake_nvml/fake_nvml.c)
  target_compile_options(nnlab_fake_nvml PRIVATE ${NNLAB_WARNINGS})
  target_compile_definitions(nnlab_fake_nvml PRIVATE _GNU_SOURCE)
  set_target_properties(nnlab_fake_nvml PROPERTIES
    LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests
    C_VISIBILITY_PRESET default)
endif()
