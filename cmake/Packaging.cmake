# Installation: the executable, the libraries, the public headers, a CMake package
# (find_package(ResWatch) -> ResWatch::Core, ResWatch::Widgets), the desktop
# integration files; and CPack's .deb.
include(CMakePackageConfigHelpers)

set(RESWATCH_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ResWatch)
set(RESWATCH_QT_MIN_VERSION 6.4)

install(EXPORT ResWatchTargets NAMESPACE ResWatch:: DESTINATION ${RESWATCH_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/ResWatchConfig.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/ResWatchConfig.cmake
    INSTALL_DESTINATION ${RESWATCH_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/ResWatchConfigVersion.cmake
    COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ResWatchConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/ResWatchConfigVersion.cmake
    DESTINATION ${RESWATCH_CMAKE_DIR})

set(RESWATCH_APP_ID io.github.reswatch.ResWatch)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/${RESWATCH_APP_ID}.desktop
    DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/${RESWATCH_APP_ID}.metainfo.xml
    DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)
install(FILES ${PROJECT_SOURCE_DIR}/resources/${RESWATCH_APP_ID}.svg
    DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)

set(CPACK_PACKAGE_NAME reswatch)
set(CPACK_PACKAGE_VENDOR "The ResWatch developers")
set(CPACK_PACKAGE_CONTACT "The ResWatch developers <reswatch@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# dpkg-shlibdeps turns the linked libraries into Debian package dependencies
# (libqt6core6, libqt6charts6, libqt6websockets6, libnats3.x, ...).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nats-server")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Live dashboard of the clients connected to Resgate gateways
 ResWatch shows which clients are connected to a fleet of Resgate gateways, per
 gateway, per user and over time, from NATS events and polls. It includes an
 emulated gateway, a test WebSocket client and headless CSV snapshots.")
include(CPack)
