package api

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
