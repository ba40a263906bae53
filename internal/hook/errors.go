package hook

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
)

// ErrorHandler maps handler errors to HTTP responses in one place: an
// *echo.HTTPError keeps its status and message, anything else is a 500 whose
// detail stays in the log. Bodies are JSON: {"error": "..."}.
func ErrorHandler(log *zap.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status := http.StatusInternalServerError
		message := "internal error"
		var he *echo.HTTPError
		if errors.As(err, &he) {
			status = he.Code
			message = fmt.Sprint(he.Message)
		} else {
			log.Error("request failed", zap.String("path", c.Path()), zap.Error(err))
		}

		if c.Request().Method == http.MethodHead {
			err = c.NoContent(status)
		} else {
			err = c.JSON(status, map[string]string{"error": message})
		}
		if err != nil {
			log.Debug("failed to write error response", zap.Error(err))
		}
	}
}

func formatBytes(n int64) string {
	const mib = 1 << 20
	if n%mib == 0 {
		return fmt.Sprintf("%d MiB (%d bytes)", n/mib, n)
	}
	return fmt.Sprintf("%d bytes", n)
}
