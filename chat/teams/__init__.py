"""Teams and sharing: who may see and do what, team membership, moving, forking, public links."""
