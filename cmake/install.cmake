# cmake --install: the public headers, libkvlm.a and libkvlm.so, the kvlm CLI
# and its evaluation packs, kvlmConfig.cmake (find_package(kvlm) gives
# kvlm::kvlm, kvlm::kvlm_shared and kvlm::kvlm_static) and kvlm.pc.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/kvlm DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(TARGETS kvlm kvlm_shared EXPORT kvlmTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS kvlm_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The CLI looks for them at KVLM_PACKS_FROM_BINDIR from its own directory.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/packs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/kvlm/packs FILES_MATCHING PATTERN "*.jsonl")

set(KVLM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/kvlm)
install(EXPORT kvlmTargets NAMESPACE kvlm:: DESTINATION ${KVLM_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/kvlmConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/kvlmConfig.cmake INSTALL_DESTINATION ${KVLM_CMAKE_DIR})
# 0.x: a minor version may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/kvlmConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/kvlmConfig.cmake ${PROJECT_BINARY_DIR}/kvlmConfigVersion.cmake
        DESTINATION ${KVLM_CMAKE_DIR})

# kvlm.pc finds the prefix from its own location, so `cmake --install --prefix`
# anywhere gives a correct file.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(KVLM_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(KVLM_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH KVLM_PC_UP "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  string(REGEX REPLACE "/$" "" KVLM_PC_UP "${KVLM_PC_UP}")
  set(KVLM_PC_PREFIX "\${pcfiledir}/${KVLM_PC_UP}")
  set(KVLM_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(KVLM_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(KVLM_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/kvlm.pc.in ${PROJECT_BINARY_DIR}/kvlm.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/kvlm.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
