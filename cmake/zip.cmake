# libnnlab, the NPZ loader (src/data/npz.c): reads the zip archives numpy.savez
# writes through libzip. Debian/Ubuntu: apt-get install libzip-dev
find_path(NNLAB_LIBZIP_INCLUDE_DIR zip.h)
find_library(NNLAB_LIBZIP_LIBRARY zip)
if(NOT NNLAB_LIBZIP_INCLUDE_DIR OR NOT NNLAB_LIBZIP_LIBRARY)
  message(FATAL_ERROR "libzip not found (the .npz loader): apt-get install libzip-dev")
endif()
message(STATUS "npz: libzip ${NNLAB_LIBZIP_LIBRARY}")

target_include_directories(nnlab_obj PRIVATE ${NNLAB_LIBZIP_INCLUDE_DIR})
list(APPEND NNLAB_CORE_LINK_LIBS ${NNLAB_LIBZIP_LIBRARY})
# nnlab.pc's Libs.private (libzip's own pkg-config module is not named: its
# Libs.private would ask `pkg-config --static` for static OpenSSL and bzip2).
set(NNLAB_LIBZIP_PC_LIBS -lzip)
