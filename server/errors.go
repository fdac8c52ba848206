package server

import (
	"errors"
	"fmt"
	"strings"

	"github.com/baselinehq/baseline/store"
)

// Error codes of the compliance API.
const (
	AuthFailureSignature        = "AuthFailure.SignatureFailure"
	AuthFailureSignatureExpire  = "AuthFailure.SignatureExpire"
	AuthFailureSecretIDNotFound = "AuthFailure.SecretIdNotFound"
	AuthFailureUnauthorized     = "AuthFailure.UnauthorizedOperation"
	InvalidParameter            = "InvalidParameter"
	InvalidParameterValue       = "InvalidParameterValue"
	MissingParameter            = "MissingParameter"
	ResourceNotFound            = "ResourceNotFound"
	LimitExceeded               = "LimitExceeded"
	RequestLimitExceeded        = "RequestLimitExceeded"
	ErrAlreadyScanning          = "FailedOperation.ErrAlreadyScanning"
	InvalidAction               = "InvalidAction"
	InternalError               = "InternalError"
	UnsupportedProtocol         = "UnsupportedProtocol"
	RequestSizeLimitExceeded    = "RequestSizeLimitExceeded"
)

// APIError is an error as the API reports it.
type APIError struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// message drops the sentinel's name, which the error code already says.
func message(err, sentinel error) string {
	return strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
}

func errorf(code, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// apiError maps library errors to API errors.
func apiError(err error) *APIError {
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, store.ErrAlreadyScanning):
		return &APIError{Code: ErrAlreadyScanning, Message: message(err, store.ErrAlreadyScanning)}
	case errors.Is(err, store.ErrNotFound):
		return &APIError{Code: ResourceNotFound, Message: message(err, store.ErrNotFound)}
	case errors.Is(err, store.ErrInvalidParameter):
		return &APIError{Code: InvalidParameterValue, Message: message(err, store.ErrInvalidParameter)}
	}
	return &APIError{Code: InternalError, Message: err.Error()}
}
