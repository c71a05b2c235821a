// Package logging configures logrus for the service and adapts it to the
// Temporal SDK's logger, so SDK, workflow and activity logs share one format.
package logging

import (
	"fmt"
	"io"
	"os"

	"github.com/sirupsen/logrus"
	tlog "go.temporal.io/sdk/log"
)

// New returns a logger writing JSON (production) or text (development).
func New(level, format string, out io.Writer) (*logrus.Logger, error) {
	l := logrus.New()
	if out == nil {
		out = os.Stderr
	}
	l.SetOutput(out)
	lvl, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	l.SetLevel(lvl)
	switch format {
	case "json", "":
		l.SetFormatter(&logrus.JSONFormatter{})
	case "text":
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	default:
		return nil, fmt.Errorf("LOG_FORMAT must be json or text, not %q", format)
	}
	return l, nil
}

// Temporal adapts a logrus entry to the Temporal SDK's log.Logger.
type Temporal struct{ entry *logrus.Entry }

var (
	_ tlog.Logger     = Temporal{}
	_ tlog.WithLogger = Temporal{}
)

// NewTemporal wraps l for client.Options.Logger.
func NewTemporal(l logrus.FieldLogger) Temporal {
	return Temporal{entry: l.WithFields(nil)}
}

func (t Temporal) fields(keyvals []interface{}) *logrus.Entry {
	if len(keyvals) == 0 {
		return t.entry
	}
	f := make(logrus.Fields, len(keyvals)/2)
	for i := 0; i < len(keyvals); i += 2 {
		key := fmt.Sprint(keyvals[i])
		if i+1 < len(keyvals) {
			f[key] = keyvals[i+1]
		} else {
			f[key] = "(missing)"
		}
	}
	return t.entry.WithFields(f)
}

func (t Temporal) Debug(msg string, keyvals ...interface{}) { t.fields(keyvals).Debug(msg) }
func (t Temporal) Info(msg string, keyvals ...interface{})  { t.fields(keyvals).Info(msg) }
func (t Temporal) Warn(msg string, keyvals ...interface{})  { t.fields(keyvals).Warn(msg) }
func (t Temporal) Error(msg string, keyvals ...interface{}) { t.fields(keyvals).Error(msg) }

// With returns a logger that always adds keyvals.
func (t Temporal) With(keyvals ...interface{}) tlog.Logger {
	return Temporal{entry: t.fields(keyvals)}
}
