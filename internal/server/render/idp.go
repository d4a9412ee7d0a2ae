package render

func init() {
	doneMessages["idp_saved"] = "The identity provider was saved. Its domains sign in through it from now on."
	doneMessages["idp_deleted"] = "The identity provider was deleted. Its domains sign in with passwords again."
}
