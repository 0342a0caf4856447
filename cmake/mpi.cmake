# MPI for data-parallel `mpirun -np N nnlab train` (src/dist, docs/distributed.md):
# an optional dependency of the program alone; the libraries never link it.
#   -DNNLAB_MPI=AUTO (default): used when found; ON: required; OFF: not used.
# Without MPI the program says so when it is started under mpirun with N > 1.
set(NNLAB_MPI AUTO CACHE STRING "MPI for nnlab train under mpirun: AUTO, ON or OFF")
set_property(CACHE NNLAB_MPI PROPERTY STRINGS AUTO ON OFF)
set(NNLAB_HAVE_MPI OFF)
if(NOT NNLAB_MPI STREQUAL "OFF")
  if(NNLAB_MPI STREQUAL "ON")
    find_package(MPI REQUIRED COMPONENTS C)
  else()
    find_package(MPI QUIET COMPONENTS C)
  endif()
  if(MPI_C_FOUND)
    set(NNLAB_HAVE_MPI ON)
    message(STATUS "MPI: ${MPI_C_LIBRARIES} (nnlab train under mpirun)")
  else()
    message(STATUS "MPI: not found; nnlab train runs as one process (libopenmpi-dev adds it)")
  endif()
endif()
# The program's part (src/dist) and its link, after add_executable(nnlab).
function(nnlab_add_mpi target)
  if(NNLAB_HAVE_MPI)
    target_link_libraries(${target} PRIVATE MPI::MPI_C)
    target_compile_definitions(${target} PRIVATE NNLAB_HAVE_MPI)
  endif()
endfunction()
