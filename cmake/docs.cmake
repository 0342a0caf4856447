# The manual page, the bash completion and the MLPerf rules file, installed
# where man(1), bash-completion and users look for them.
install(FILES ${PROJECT_SOURCE_DIR}/docs/nnlab.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/completion/nnlab.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME nnlab)
install(FILES ${PROJECT_SOURCE_DIR}/mlperf/nnlab.yaml ${PROJECT_SOURCE_DIR}/mlperf/requirements.txt
  DESTINATION ${CMAKE_INSTALL_DATADIR}/nnlab/mlperf)
