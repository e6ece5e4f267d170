/* The settings table of `t2 train` (every key of docs/train.md), shared by t2 train and
 * t2 demo, which trains its experts with the same keys and records them in each expert. */
#ifndef T2_CMD_TRAIN_SETTINGS_H
#define T2_CMD_TRAIN_SETTINGS_H

#include "cmd/settings.h"
#include "dist/train.h"

enum { T2_TRAIN_MAX_SETTINGS = 64 };

/* Sets s to the defaults (t2_train_settings_init) and writes its table into
 * table[0..T2_TRAIN_MAX_SETTINGS); returns the count. t2_settings_free(table, n) frees the
 * strings s holds. */
int t2_train_settings_table(t2_setting *table, t2_train_settings *s);

#endif
