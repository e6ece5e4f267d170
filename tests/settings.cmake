# cmd/settings: the config-file and flag parser every command's settings go through.
t2_add_test(NAME settings SOURCES test_settings.c ${PROJECT_SOURCE_DIR}/cmd/settings.c
  LIBS PkgConfig::LIBCONFIG LABELS cmd)
