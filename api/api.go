// Package api is the compliance API's wire contract, shared by the server
// and every client: the action names, the request and response types, the
// TC3-HMAC-SHA256 request signing, the error codes and the version.
package api

// Version is the API version the server speaks.
const Version = "2020-11-01"

// Service is the service name in a request's credential scope.
const Service = "tcss"
