package api

import "errors"

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

// Error is an error as the API reports it.
type Error struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Retryable says whether a call that failed with err may succeed when sent
// again unchanged: the server could not be reached or answered with a
// failure of its own (overloaded, busy with the same scope, an internal
// error). A refusal of the request itself (a bad key, an unknown item, a
// body too large) would be refused again.
func Retryable(err error) bool {
	var ae *Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case InternalError, RequestLimitExceeded, ErrAlreadyScanning:
			return true
		}
		return false
	}
	return err != nil
}
