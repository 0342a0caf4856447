/* MLPerf-style event lines (design.md, "Events"):
 *   :::MLLOG {"namespace": "", "time_ms": ..., "event_type": ..., "key": ..., "value": ..., "metadata": {...}} */
#include <errno.h>
#include <string.h>

#include "nnlab/core.h"
#include "nnlab/train.h"

nl_status nl_events_open(nl_events *ev, const char *path, nl_error *err) {
    ev->f = NULL;
    ev->owned = 0;
    if (!path || !*path) return NL_OK;
    if (!strcmp(path, "-")) {
        ev->f = stdout;
        return NL_OK;
    }
    ev->f = fopen(path, "w");
    if (!ev->f)
        return nl_error_set(err, NL_EIO, "%s: cannot open the events file: %s", path,
                            strerror(errno));
    ev->owned = 1;
    return NL_OK;
}

void nl_events_close(nl_events *ev) {
    if (ev->f && ev->owned) fclose(ev->f);
    ev->f = NULL;
    ev->owned = 0;
}

void nl_event(nl_events *ev, const char *type, const char *key, const char *value_json,
              const char *metadata_json) {
    if (!ev || !ev->f) return;
    fprintf(ev->f,
            ":::MLLOG {\"namespace\": \"\", \"time_ms\": %lld, \"event_type\": \"%s\", \"key\": "
            "\"%s\", \"value\": %s, \"metadata\": %s}\n",
            (long long)nl_wall_ms(), type, key, value_json ? value_json : "null",
            metadata_json ? metadata_json : "{}");
    fflush(ev->f);
}
