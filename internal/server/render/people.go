package render

// The confirmations of the people actions of the portal's Company users
// (kept here, apart from the main table, like those of invitations).
func init() {
	doneMessages["user_disabled"] = "The user was deactivated: its sessions ended and it cannot sign in until it is reactivated."
	doneMessages["user_enabled"] = "The user was reactivated and can sign in again."
	doneMessages["invitations_sent"] = "The invitations were sent."
	doneMessages["group_joined"] = "The user was added to the account group."
	doneMessages["group_left"] = "The user was removed from the account group."
}
