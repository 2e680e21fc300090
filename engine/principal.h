// Principal: who is calling, with the role and scope that decide what they may see and do. The
// same for a bearer token and a person signed in, so every adapter checks access one way
// (access.h).
#pragma once

#include <string>

namespace rectrack {

// Who is calling, as established from a bearer token or a signed-in account.
struct Principal {
  std::string token_id;   // the bearer token's id; "" for an account or an anonymous reader
  std::string role;       // a workflow role
  std::string body;       // the body a body-scoped role acts for and sees; "" for none
  std::string unit = "";  // the unit of `body` a unit-scoped lead acts for; "" for the whole body
  std::string account = "";  // the signed-in account's email; "" for a token
};

}  // namespace rectrack
