/* promtext.h - one exposition from several: the Prometheus texts of the
 * tenants (prom.h, ratelimit.h), each sample labelled with its tenant and
 * every metric family written once (its HELP and TYPE, then the samples
 * of every tenant), as the text format requires.
 *
 * Threading: stateless. */
#ifndef PROMTEXT_PROMTEXT_H
#define PROMTEXT_PROMTEXT_H

#include <stddef.h>

/* texts[i] is tenant names[i]'s exposition; a sample that already has a
 * tenant label keeps it. Returns the merged text (malloc'ed), or NULL on
 * OOM. */
char *promtext_merge(const char *const *texts, const char *const *names, size_t n);

#endif
