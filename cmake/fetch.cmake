# libnnlab-tools, the dataset store (src/store/, `nnlab data`): downloads through
# libcurl, hashes through OpenSSL's libcrypto, reads .gz files (verify, unpacker)
# through zlib (found for the core by CMakeLists.txt). The core's loaders
# (src/data/) need neither curl nor libcrypto.
# Debian/Ubuntu: apt-get install libcurl4-openssl-dev libssl-dev
find_package(CURL QUIET)
if(NOT CURL_FOUND)
  message(FATAL_ERROR "libcurl not found: apt-get install libcurl4-openssl-dev")
endif()
find_package(OpenSSL QUIET COMPONENTS Crypto)
if(NOT OPENSSL_FOUND)
  message(FATAL_ERROR "OpenSSL libcrypto not found: apt-get install libssl-dev")
endif()
message(STATUS "store: libcurl ${CURL_VERSION_STRING}, OpenSSL ${OPENSSL_VERSION}")

target_link_libraries(nnlab_tools_obj PRIVATE CURL::libcurl OpenSSL::Crypto)
list(APPEND NNLAB_TOOLS_LINK_LIBS CURL::libcurl OpenSSL::Crypto ZLIB::ZLIB)
# pkg-config modules for nnlab-tools.pc (Requires.private). libcurl is
# deliberately not among them: `pkg-config --static` would then demand static
# builds of all of curl's own dependencies (nghttp2, ssh2, rtmp, psl...), which
# distributions do not ship. Programs linking libnnlab-tools.a add -lcurl
# (libcurl.so does); NNLAB_TOOLS_PC_LIBS_PRIVATE carries it for nnlab-tools.pc.in.
list(APPEND NNLAB_TOOLS_PC_REQUIRES libcrypto zlib)
list(APPEND NNLAB_TOOLS_PC_LIBS_PRIVATE -lcurl)
