/*
 * inpatient_sweep.h - what lapses with time alone, settled when it lapses:
 * an open pre-admission past its window ends, its costs settled as
 * outpatient care; a day-surgery stay past 24 hours becomes an ordinary
 * inpatient stay; an open pre-admission whose patient was admitted at another
 * hospital ends then, its costs outpatient costs (they cannot go with a stay
 * elsewhere). Before, these waited for someone to act on them ($admit,
 * the queue, $discharge), and an abandoned pre-admission stayed open.
 *
 * A thread of the server runs a pass every inpatient.sweep_s seconds; each
 * change is one durable unit with its audit entry (user "system:inpatient-
 * sweep", role system), and checks the version it read (If-Match), so a
 * clerk acting at the same moment wins and the sweep leaves it.
 */
#ifndef MODULES_INPATIENT_INPATIENT_SWEEP_H
#define MODULES_INPATIENT_INPATIENT_SWEEP_H

#include <stdint.h>

#include "core/config.h"
#include "store/store.h"

struct inpt_sweep;

/* Start the sweep over store (borrowed, as cfg); NULL when inpatient.sweep_s is 0. */
struct inpt_sweep *inpt_sweep_start(struct store *store, const struct config *cfg);
/* Stop it (waits for a pass under way); NULL is fine. */
void inpt_sweep_stop(struct inpt_sweep *s);

/*
 * One pass at now_ms: how many encounters it changed, or -1 when the store
 * could not be read. Stays written since *since (ms; 0: as far back as a
 * pre-admission can be open) are matched against the open pre-admissions;
 * *since becomes where the next pass starts (unchanged when this one was
 * cut short: read error, or SWEEP_MAX changes).
 */
int inpt_sweep_once(struct store *store, const struct config *cfg, int64_t now_ms, int64_t *since);

#endif
