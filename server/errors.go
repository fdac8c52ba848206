package server

import (
	"errors"
	"fmt"
	"strings"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/store"
)

// message drops the sentinel's name, which the error code already says.
func message(err, sentinel error) string {
	return strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
}

func errorf(code, format string, args ...any) *api.Error {
	return &api.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// apiError maps library errors to API errors.
func apiError(err error) *api.Error {
	var ae *api.Error
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, store.ErrAlreadyScanning):
		return &api.Error{Code: api.ErrAlreadyScanning, Message: message(err, store.ErrAlreadyScanning)}
	case errors.Is(err, store.ErrNotFound):
		return &api.Error{Code: api.ResourceNotFound, Message: message(err, store.ErrNotFound)}
	case errors.Is(err, store.ErrInvalidParameter):
		return &api.Error{Code: api.InvalidParameterValue, Message: message(err, store.ErrInvalidParameter)}
	case errors.Is(err, store.ErrForbidden):
		return &api.Error{Code: api.AuthFailureUnauthorized, Message: message(err, store.ErrForbidden)}
	}
	return &api.Error{Code: api.InternalError, Message: err.Error()}
}
