# nnlab data: downloads through libcurl, hashes through OpenSSL's libcrypto.
# Debian/Ubuntu: apt-get install libcurl4-openssl-dev libssl-dev
find_package(CURL QUIET)
if(NOT CURL_FOUND)
  message(FATAL_ERROR "libcurl not found: apt-get install libcurl4-openssl-dev")
endif()
find_package(OpenSSL QUIET COMPONENTS Crypto)
if(NOT OPENSSL_FOUND)
  message(FATAL_ERROR "OpenSSL libcrypto not found: apt-get install libssl-dev")
endif()
message(STATUS "fetch: libcurl ${CURL_VERSION_STRING}, OpenSSL ${OPENSSL_VERSION}")

target_link_libraries(nnlab_obj PUBLIC CURL::libcurl OpenSSL::Crypto)
list(APPEND NNLAB_LINK_LIBS CURL::libcurl OpenSSL::Crypto)
# pkg-config modules for nnlab.pc (Requires.private). libcurl is deliberately
# not among them: `pkg-config --static` would then demand static builds of all
# of curl's own dependencies (nghttp2, ssh2, rtmp, psl...), which distributions
# do not ship. Programs linking libnnlab.a and calling the fetch API add -lcurl
# (libcurl.so does); NNLAB_PC_LIBS_PRIVATE carries it for nnlab.pc.in.
list(APPEND NNLAB_PC_REQUIRES libcrypto)
list(APPEND NNLAB_PC_LIBS_PRIVATE -lcurl)
