/* cli_world.h - DIR/world.json: the options `mixrec synth` made a world
 * with, so that other tools (`mixrec simulate`) regenerate the same world
 * (syn_make is deterministic for its parameters) and know every user's
 * planted preferences. */
#ifndef CLI_WORLD_H
#define CLI_WORLD_H

#include "mx_err.h"
#include "synth.h"

/* Writes p to dir/world.json. 0 or MX_EIO. */
int cli_world_save(const char *dir, const syn_params *p, mx_err *err);
/* Reads dir/world.json over the defaults into *p. 0, MX_EIO or
 * MX_EFORMAT. */
int cli_world_load(const char *dir, syn_params *p, mx_err *err);

#endif
